import { errorMessage } from '../format'
import { useSignOut, type ActiveSession } from '../hooks/session'
import { Badge } from './ui/Badge'
import { Button } from './ui/Button'

/** Who is signed in, as the header says it; a token's account is the one that made it. */
function who(me: ActiveSession['me']): string {
  if (me.kind === 'admin_token') return 'the admin token'
  if (me.kind === 'token') return me.account === null ? 'an API token' : `an API token of ${me.account.email}`
  return me.account?.email ?? 'an account'
}

/**
 * The header's account controls: the signed-in email and role with Sign
 * out (and, for a session, Sign out everywhere); on a server open to this
 * machine, only a hint, since there is no one to sign out.
 */
export function SessionControls({ session }: { session: ActiveSession }) {
  const signOut = useSignOut()
  if (session.state === 'open') {
    return (
      <p className="text-xs text-slate-600 dark:text-slate-400">
        Open to this machine:{' '}
        <a
          href="#/accounts"
          className="text-blue-700 underline focus-visible:outline-2 focus-visible:outline-blue-600 dark:text-blue-300"
        >
          add an account
        </a>{' '}
        to require sign-in.
      </p>
    )
  }
  const { me } = session
  const viaToken = me.kind !== 'session'
  return (
    <div className="flex flex-wrap items-center gap-2 text-xs text-slate-700 dark:text-slate-300">
      <span className="min-w-0 break-all">
        {viaToken ? 'Using ' : 'Signed in as '}
        <strong className="font-semibold">{who(me)}</strong>
      </span>
      <Badge tone="blue">{me.role}</Badge>
      <Button size="sm" disabled={signOut.isPending} onClick={() => signOut.mutate({ kind: me.kind })}>
        Sign out
      </Button>
      {!viaToken && (
        <Button
          size="sm"
          disabled={signOut.isPending}
          title="Ends every session of this account, in every browser"
          onClick={() => signOut.mutate({ kind: me.kind, everywhere: true })}
        >
          Sign out everywhere
        </Button>
      )}
      {signOut.error !== null && (
        <span role="alert" className="text-red-700 dark:text-red-300">
          Could not sign out: {errorMessage(signOut.error)}
        </span>
      )}
    </div>
  )
}
