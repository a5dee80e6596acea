import { useQuery } from '@tanstack/react-query'
import { useEffect, useId, useState } from 'react'
import { getProviders } from '../api/accounts'
import { Button } from '../components/ui/Button'
import { Field, Hint, Input, Label } from '../components/ui/Field'
import { ErrorText } from '../components/ui/State'
import { errorMessage } from '../format'
import { useSignIn, useTokenSignIn } from '../hooks/session'

function PasswordForm() {
  const id = useId()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const signIn = useSignIn()
  const error = signIn.error === null ? null : errorMessage(signIn.error)
  return (
    <form
      aria-label="Sign in"
      noValidate
      className="flex flex-col gap-4"
      onSubmit={(e) => {
        e.preventDefault()
        signIn.mutate({ email: email.trim(), password })
      }}
    >
      <Field>
        <Label htmlFor={`${id}-email`}>Email</Label>
        <Input
          id={`${id}-email`}
          type="email"
          autoComplete="username"
          required
          value={email}
          aria-invalid={error !== null}
          aria-describedby={error !== null ? `${id}-error` : undefined}
          onChange={(e) => setEmail(e.target.value)}
        />
      </Field>
      <Field>
        <Label htmlFor={`${id}-password`}>Password</Label>
        <Input
          id={`${id}-password`}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          aria-invalid={error !== null}
          aria-describedby={error !== null ? `${id}-error` : undefined}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      {/* The server's words: a wrong password, or how long to wait after too many tries. */}
      {error !== null && (
        <p id={`${id}-error`} role="alert" className="text-sm break-words text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
      <Button
        type="submit"
        variant="primary"
        size="lg"
        disabled={signIn.isPending || email.trim() === '' || password === ''}
        aria-busy={signIn.isPending}
      >
        Sign in
      </Button>
    </form>
  )
}

function TokenForm() {
  const id = useId()
  const [token, setToken] = useState('')
  const use = useTokenSignIn()
  return (
    <form
      aria-label="Use an API token"
      noValidate
      className="mt-3 flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault()
        use.mutate(token.trim())
      }}
    >
      <Field>
        <Label htmlFor={id}>API token</Label>
        <Input
          id={id}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          aria-describedby={`${id}-hint`}
          onChange={(e) => setToken(e.target.value)}
        />
        <Hint id={`${id}-hint`}>
          An API token (plt_…) or the server’s admin token. Kept for this tab only and sent with every request; signing
          out forgets it.
        </Hint>
      </Field>
      {use.error !== null && <ErrorText>{errorMessage(use.error)}</ErrorText>}
      <Button type="submit" disabled={use.isPending || token.trim() === ''} aria-busy={use.isPending}>
        Use this token
      </Button>
    </form>
  )
}

/**
 * The sign-in of an OpenID provider, when the server has one: a link, as
 * the provider's page takes the whole window. next is where the user
 * was, path and hash, so that the callback brings them back there.
 */
function ProviderSignIn() {
  const providers = useQuery({
    queryKey: ['auth-providers'],
    queryFn: ({ signal }) => getProviders(signal),
    staleTime: 60_000,
  })
  const oidc = providers.data?.oidc
  if (oidc == null) return null
  const next = window.location.pathname + window.location.hash
  return (
    <div className="mb-6 flex flex-col gap-2 border-b border-slate-200 pb-6 dark:border-slate-800">
      <a
        href={`${oidc.login_url}?next=${encodeURIComponent(next)}`}
        className="inline-flex items-center justify-center rounded-md bg-blue-700 px-4 py-2 text-base font-medium text-white hover:bg-blue-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600"
      >
        Sign in with {oidc.name}
      </a>
      <p className="text-center text-sm text-slate-600 dark:text-slate-400">or with your email and password</p>
    </div>
  )
}

/**
 * signinError is what a refused sign-in with the provider came back
 * with (/?signin_error=…), taken off the address once read so that a
 * reload does not show it again.
 */
function useSigninError(): string | null {
  const [error] = useState(() => new URLSearchParams(window.location.search).get('signin_error'))
  useEffect(() => {
    if (error === null) return
    const url = new URL(window.location.href)
    url.searchParams.delete('signin_error')
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash)
  }, [error])
  return error
}

/**
 * The sign-in page, shown in place of the console while no one is signed
 * in. The address stays the page the user asked for (or was on when the
 * session ended), so signing in lands there.
 */
export function SignInPage({ reason }: { reason: string | null }) {
  const providerError = useSigninError()
  useEffect(() => {
    document.title = 'Pulse — Sign in'
  }, [])
  return (
    <div className="flex min-h-screen items-start justify-center bg-slate-50 px-4 py-16 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
      <main className="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <p className="text-xl font-bold tracking-tight">Pulse</p>
        <h1 className="mt-1 mb-4 text-lg font-semibold">Sign in</h1>
        {reason !== null && (
          <p
            role="status"
            className="mb-4 rounded-md bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100"
          >
            {reason}
          </p>
        )}
        {providerError !== null && (
          <p
            role="alert"
            className="mb-4 rounded-md bg-red-50 p-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200"
          >
            The sign-in with your provider was refused: {providerError}
          </p>
        )}
        <ProviderSignIn />
        <PasswordForm />
        <details className="mt-6 border-t border-slate-200 pt-4 text-sm dark:border-slate-800">
          <summary className="cursor-pointer rounded text-slate-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:text-slate-300">
            Use an API token instead
          </summary>
          <TokenForm />
        </details>
      </main>
    </div>
  )
}
