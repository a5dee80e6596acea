// How every call reaches the Pulse API: with the API token as a Bearer token
// when the user entered one, the CSRF token on unsafe requests (the session
// cookie goes by itself), and the server's own words in the error of a
// refused request. The one place that turns a 401 into "sign in again".

import { z } from 'zod'
import { apiToken, csrfToken, sessionEnded, sessionGeneration, sessionKnown } from './credentials'
import { describeIssues, whoamiSchema, type Whoami } from './schema'

/** A failed API call: status is 0 when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number

  constructor(message: string, status: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

// The {"error": "..."} of a refused request; other members (409's "run") are
// not read here.
const errorBody = z.looseObject({ error: z.string() })

/**
 * Checks a successful answer against its schema: a mismatch is an ApiError
 * naming the endpoint and the path of each bad field.
 */
export function parse<S extends z.ZodType>(schema: S, endpoint: string, body: unknown): z.output<S> {
  const r = schema.safeParse(body)
  if (!r.success) throw new ApiError(`unexpected answer from ${endpoint}: ${describeIssues(r.error)}`, 200)
  return r.data
}

/** The methods that change something: the server wants the CSRF token with each. */
export type UnsafeMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const UNSAFE: ReadonlySet<string> = new Set<UnsafeMethod>(['POST', 'PUT', 'PATCH', 'DELETE'])

// The server's 403 when the CSRF token is missing or not the session's: the
// session changed behind this tab's back (a sign-in in another tab).
const CSRF_REFUSED = /X-CSRF-Token/i

/** A request's options: fetch's, with headers as a plain object. */
export type RequestOptions = Omit<RequestInit, 'headers'> & { headers?: Record<string, string> }

interface Handling {
  /** A 401 answers the call itself (a wrong password, who am I), it does not end the session. */
  own401?: boolean
  retried?: boolean
}

/** Sends a request with the session's credentials and returns the parsed JSON body (undefined when empty). */
export async function request(path: string, init: RequestOptions = {}, handling: Handling = {}): Promise<unknown> {
  const generation = sessionGeneration()
  const method = (init.method ?? 'GET').toUpperCase()
  const token = apiToken()
  const headers: Record<string, string> = { Accept: 'application/json', ...init.headers }
  if (token !== '') headers.Authorization = `Bearer ${token}`
  if (UNSAFE.has(method) && csrfToken() !== '') headers['X-CSRF-Token'] = csrfToken()
  let res: Response
  try {
    res = await fetch(path, { ...init, headers })
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new ApiError(`cannot reach the server: ${reason}`, 0)
  }
  const text = await res.text()
  let body: unknown = undefined
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
  }
  if (res.ok) return body
  const error = errorBody.safeParse(body)
  const message =
    error.success && error.data.error !== '' ? error.data.error : `${res.status} ${res.statusText || 'error'}`.trim()
  // A 401 of a request sent before the latest sign-in or sign-out is old news.
  if (res.status === 401 && handling.own401 !== true && generation === sessionGeneration()) {
    sessionEnded(token !== '' ? `the API token was refused: ${message}` : message)
  }
  if (res.status === 403 && UNSAFE.has(method) && handling.retried !== true && CSRF_REFUSED.test(message)) {
    // Read the session's current token once and try again; a second refusal is the answer.
    await whoami({ announce: true })
    return request(path, init, { ...handling, retried: true })
  }
  throw new ApiError(message, res.status)
}

/** Sends an unsafe request with an optional JSON body. */
export function send(path: string, method: UnsafeMethod, body?: unknown): Promise<unknown> {
  if (body === undefined) return request(path, { method })
  return request(path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
}

/**
 * GET /api/auth/me/: who the server takes the user for, keeping its CSRF
 * token. A 401 (sign-in needed) is an ApiError the caller handles unless
 * announce is set, when it ends the session like any other 401 and the
 * answer is announced to the session's listeners.
 */
export async function whoami({ announce = false, signal }: { announce?: boolean; signal?: AbortSignal } = {}) {
  const path = '/api/auth/me/'
  const me: Whoami = parse(whoamiSchema, path, await request(path, { signal }, { own401: !announce }))
  sessionKnown(me, { announce })
  return me
}
