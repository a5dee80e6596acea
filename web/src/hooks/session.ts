// Who the user is, over TanStack Query: the answer of GET /api/auth/me/ is
// the session query's data, and every change of the session (a sign-in, a
// sign-out, a 401 anywhere, a CSRF token read again) is written there, so
// the app shows the sign-in page or the console from one place.

import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'
import { getSession, sessionStateOf, signIn, signInWithToken, signOut, type SessionState } from '../api/accounts'
import { onSessionEvent, sessionEnded } from '../api/credentials'
import { keys, sessionQuery } from '../api/queries'
import type { AuthKind, Whoami } from '../api/schema'
import { errorMessage } from '../format'

/** The session as the app tells it apart: still asking, let in, asked to sign in, or no answer at all. */
export type Session = { state: 'loading' } | SessionState | { state: 'unreachable'; error: string; retry: () => void }

/** A session that was let in: the console's. */
export type ActiveSession = Extract<SessionState, { me: Whoami }>

/**
 * The session, following its changes. The app's root is its one caller:
 * it subscribes to the session's events (a 401 of any request ends it).
 */
export function useSession(): Session {
  const client = useQueryClient()
  const q = useQuery(sessionQuery())
  useEffect(
    () =>
      onSessionEvent((e) =>
        client.setQueryData<SessionState>(
          keys.session,
          e.type === 'ended' ? { state: 'needs-sign-in', reason: e.reason } : sessionStateOf(e.me),
        ),
      ),
    [client],
  )
  if (q.data !== undefined) return q.data
  if (q.isError) return { state: 'unreachable', error: errorMessage(q.error), retry: () => void q.refetch() }
  return { state: 'loading' }
}

// Lets the console in: what was cached for whoever used the tab before is
// dropped first, so the pages load afresh for this account.
function enter(client: QueryClient, me: Whoami) {
  client.removeQueries({ predicate: (q) => q.queryKey[0] !== keys.session[0] })
  client.setQueryData<SessionState>(keys.session, sessionStateOf(me))
}

/** Signs in with an email and a password; the error is the server's (wrong password, too many attempts). */
export function useSignIn() {
  const client = useQueryClient()
  return useMutation({
    mutationKey: keys.signIn,
    mutationFn: ({ email, password }: { email: string; password: string }) => signIn(email, password),
    onSuccess: (me) => enter(client, me),
  })
}

/** Signs in with an API token, kept for this tab. */
export function useTokenSignIn() {
  const client = useQueryClient()
  return useMutation({
    mutationKey: keys.signIn,
    mutationFn: signInWithToken,
    onSuccess: (me) => enter(client, me),
  })
}

/**
 * Signs out: a session ends on the server (every session of the account
 * when everywhere is set); an API token is forgotten, after which the
 * server may still let the tab in (open, or a session cookie beside it).
 */
export function useSignOut() {
  const client = useQueryClient()
  return useMutation({
    mutationKey: keys.signOut,
    mutationFn: async ({ kind, everywhere = false }: { kind: AuthKind; everywhere?: boolean }) => {
      if (kind === 'session') {
        await signOut(everywhere)
        return { state: 'needs-sign-in', reason: null } satisfies SessionState
      }
      sessionEnded()
      return getSession()
    },
    onSuccess: (state: SessionState) => client.setQueryData<SessionState>(keys.session, state),
  })
}
