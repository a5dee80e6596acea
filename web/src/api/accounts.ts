// The calls of signing in and out, and of the admin's accounts and API
// tokens (docs/accounts.md).

import { apiToken, sessionEnded, sessionKnown, setApiToken } from './credentials'
import { ApiError, parse, request, send, whoami } from './http'
import {
  accountResultSchema,
  accountsSchema,
  providersSchema,
  tokenCreatedSchema,
  tokenResultSchema,
  tokensSchema,
  whoamiSchema,
  type Account,
  type APIToken,
  type Providers,
  type Role,
  type TokenCreated,
  type Whoami,
} from './schema'

export { whoami }

/** What the server says of this browser: let in (open, or signed in), or asked to sign in. */
export type SessionState =
  | { state: 'open'; me: Whoami }
  | { state: 'signed-in'; me: Whoami }
  /** reason is why a session in use ended (the server's words); null when there was none. */
  | { state: 'needs-sign-in'; reason: string | null }

/** The state of a session the server let in. */
export function sessionStateOf(me: Whoami): SessionState {
  return me.kind === 'open' ? { state: 'open', me } : { state: 'signed-in', me }
}

/**
 * GET /api/auth/me/ as a session state: a 401 asks for a sign-in. An API
 * token the server refuses is forgotten, and the reason says so.
 */
export async function getSession(signal?: AbortSignal): Promise<SessionState> {
  const token = apiToken()
  try {
    return sessionStateOf(await whoami({ signal }))
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err
    if (token === '') return { state: 'needs-sign-in', reason: null }
    sessionEnded()
    return { state: 'needs-sign-in', reason: `the API token was refused: ${err.message}` }
  }
}

/**
 * POST /api/auth/login/: signs in with an email and a password and starts
 * a new session (the server sets its cookie). A wrong password (401), too
 * many attempts (429) and the rest are ApiErrors in the server's words.
 */
export async function signIn(email: string, password: string): Promise<Whoami> {
  const path = '/api/auth/login/'
  const body = await request(
    path,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) },
    { own401: true },
  )
  const me = parse(whoamiSchema, path, body)
  sessionKnown(me, { newSession: true })
  return me
}

/**
 * Signs in with an API token: it is kept for this tab and sent as a Bearer
 * token with every request once the server accepts it; a refused one is
 * forgotten at once.
 */
export async function signInWithToken(token: string): Promise<Whoami> {
  setApiToken(token)
  try {
    const me = await whoami()
    sessionKnown(me, { newSession: true })
    return me
  } catch (err) {
    setApiToken('')
    if (err instanceof ApiError && err.status === 401) {
      throw new ApiError(`the API token was refused: ${err.message}`, 401)
    }
    throw err
  }
}

/**
 * POST /api/auth/logout/: ends this session, or every session of the
 * account when everywhere is set, then forgets the credentials here (an
 * API token too). The server's cookie is gone with it.
 */
export async function signOut(everywhere = false): Promise<void> {
  await send('/api/auth/logout/', 'POST', everywhere ? { everywhere: true } : undefined)
  sessionEnded()
}

/** GET /api/accounts/: every account, oldest first. Admin. */
export async function getAccounts(signal?: AbortSignal): Promise<Account[]> {
  const path = '/api/accounts/'
  return parse(accountsSchema, path, await request(path, { signal })).accounts
}

/** What a new account is made of. */
export interface NewAccount {
  email: string
  role: Role
  password: string
}

/** POST /api/accounts/: 409 when the email is taken, 400 for a bad email, role or a short password. Admin. */
export async function createAccount(req: NewAccount): Promise<Account> {
  const path = '/api/accounts/'
  return parse(accountResultSchema, path, await send(path, 'POST', req)).account
}

/** PATCH /api/accounts/{id}/: a new role or password (which ends the account's sessions). Admin. */
export async function updateAccount(id: string, change: { role?: Role; password?: string }): Promise<Account> {
  const path = `/api/accounts/${encodeURIComponent(id)}/`
  return parse(accountResultSchema, path, await send(path, 'PATCH', change)).account
}

/** DELETE /api/accounts/{id}/: the account, its sessions and its tokens go. Admin. */
export async function removeAccount(id: string): Promise<void> {
  await send(`/api/accounts/${encodeURIComponent(id)}/`, 'DELETE')
}

/** GET /api/tokens/: every API token, revoked ones too, oldest first. Admin. */
export async function getTokens(signal?: AbortSignal): Promise<APIToken[]> {
  const path = '/api/tokens/'
  return parse(tokensSchema, path, await request(path, { signal })).tokens
}

/** What a new API token is: a name, a role and how long it lasts ("12h", "30d"; absent: until revoked). */
export interface NewToken {
  name: string
  role: Role
  expires_in?: string
}

/** POST /api/tokens/: the token and its secret, which the server never shows again. Admin. */
export async function createToken(req: NewToken): Promise<TokenCreated> {
  const path = '/api/tokens/'
  return parse(tokenCreatedSchema, path, await send(path, 'POST', req))
}

/** DELETE /api/tokens/{id}/: revokes a token and returns it. Admin. */
export async function revokeToken(id: string): Promise<APIToken> {
  const path = `/api/tokens/${encodeURIComponent(id)}/`
  return parse(tokenResultSchema, path, await send(path, 'DELETE')).token
}

/** The ways to sign in: the password, and an OpenID provider when one is set up. */
export async function getProviders(signal?: AbortSignal): Promise<Providers> {
  const path = '/api/auth/providers/'
  return parse(providersSchema, path, await request(path, { signal }))
}
