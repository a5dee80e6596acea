// What the browser proves itself with, in one place: the session cookie
// (which the browser sends by itself), the CSRF token that must go with it
// on every unsafe request, and an API token the user may enter instead. The
// session's changes are events the app subscribes to (hooks/session.ts), so
// a request anywhere that finds the session over sends the user to sign in.

import type { Whoami } from './schema'

// The key predates accounts, when the only token was the server's admin
// token; kept so a token entered before an upgrade still works.
const TOKEN_KEY = 'pulse.admin_token'

/** The API token kept for this tab (sessionStorage), or "" when none is set. */
export function apiToken(): string {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) ?? ''
  } catch {
    return ''
  }
}

/** Keeps the API token for this tab, sent as a Bearer token with every request; "" forgets it. */
export function setApiToken(token: string): void {
  try {
    if (token === '') window.sessionStorage.removeItem(TOKEN_KEY)
    else window.sessionStorage.setItem(TOKEN_KEY, token)
  } catch {
    // Storage may be disabled: then there is no token to send.
  }
}

let csrf = ''

/** The CSRF token of the current session ("" before the server named one). */
export function csrfToken(): string {
  return csrf
}

/**
 * The session's generation: it moves on at every sign-in and sign-out, so
 * the 401 of a request sent before a sign-in does not end the new session.
 */
let generation = 0

/** The current generation, for a request to remember when it started. */
export function sessionGeneration(): number {
  return generation
}

/** What happened to the session. */
export type SessionEvent =
  /** A request was refused with 401: the user must sign in (again); reason is the server's words. */
  | { type: 'ended'; reason: string }
  /** The server said who the user is (a sign-in, or the CSRF token read again). */
  | { type: 'known'; me: Whoami }

const listeners = new Set<(e: SessionEvent) => void>()

/** Calls listener at each session event; returns the function that stops it. */
export function onSessionEvent(listener: (e: SessionEvent) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * Records who the server says the user is (its CSRF token) and tells the
 * listeners when asked to. A new sign-in starts a new generation.
 */
export function sessionKnown(me: Whoami, { newSession = false, announce = false } = {}): void {
  csrf = me.csrf_token
  if (newSession) generation++
  if (announce) for (const l of [...listeners]) l({ type: 'known', me })
}

/**
 * Ends the session on this side: the CSRF token and the API token are
 * forgotten. reason, when given, tells the listeners why (a refused
 * request); a sign-out the user asked for has none.
 */
export function sessionEnded(reason?: string): void {
  csrf = ''
  generation++
  setApiToken('')
  if (reason !== undefined) for (const l of [...listeners]) l({ type: 'ended', reason })
}
