import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { signIn, signOut, whoami } from './accounts'
import { getLoad } from './client'
import { onSessionEvent, setApiToken, type SessionEvent } from './credentials'
import { ApiError, request, send } from './http'
import type { Whoami } from './schema'

const me = (over: Partial<Whoami> = {}): Whoami => ({
  kind: 'session',
  role: 'operator',
  account: {
    id: 'acc_1',
    email: 'op@example.com',
    role: 'operator',
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    last_sign_in_at: null,
  },
  csrf_token: 'csrf-1',
  ...over,
})

const run = { id: 'r1', status: 'running' }

let events: SessionEvent[] = []
let stop = () => {}
beforeEach(() => {
  events = []
  stop = onSessionEvent((e) => events.push(e))
})
afterEach(() => stop())

describe('credentials on every request', () => {
  it('sends the CSRF token of /me with unsafe requests only', async () => {
    const calls = stubFetch(({ url }) => (url === '/api/auth/me/' ? json(me()) : json({ status: 'idle' })))
    await whoami()
    await request('/api/load/')
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) await send('/api/x/', method, {})
    expect(calls.map((c) => [c.method, c.headers['X-CSRF-Token']])).toEqual([
      ['GET', undefined],
      ['GET', undefined],
      ['POST', 'csrf-1'],
      ['PUT', 'csrf-1'],
      ['PATCH', 'csrf-1'],
      ['DELETE', 'csrf-1'],
    ])
  })

  it("takes the login answer's CSRF token, and forgets it at sign-out", async () => {
    const calls = stubFetch(({ url }) => {
      if (url === '/api/auth/login/') return json(me({ csrf_token: 'csrf-login' }))
      if (url === '/api/auth/logout/') return new Response(null, { status: 204 })
      return json(run)
    })
    await signIn('op@example.com', 'secret-pw')
    await send('/api/load/', 'POST', {})
    await signOut(true)
    await send('/api/x/', 'POST')
    expect(calls.map((c) => [c.url, c.headers['X-CSRF-Token'], c.body])).toEqual([
      ['/api/auth/login/', undefined, { email: 'op@example.com', password: 'secret-pw' }],
      ['/api/load/', 'csrf-login', {}],
      ['/api/auth/logout/', 'csrf-login', { everywhere: true }],
      ['/api/x/', undefined, undefined],
    ])
  })

  it('sends the API token of the tab as a Bearer token with every request', async () => {
    setApiToken('plt_abc')
    const calls = stubFetch(() => json({ status: 'idle' }))
    await getLoad()
    await send('/api/load/', 'DELETE').catch(() => undefined)
    expect(calls.map((c) => c.headers.Authorization)).toEqual(['Bearer plt_abc', 'Bearer plt_abc'])
  })
})

describe('a 401', () => {
  it('ends the session with the server’s words', async () => {
    stubFetch(() => json({ error: 'the session has ended: sign in again' }, 401))
    await expect(getLoad()).rejects.toThrow(new ApiError('the session has ended: sign in again', 401))
    expect(events).toEqual([{ type: 'ended', reason: 'the session has ended: sign in again' }])
  })

  it('of a refused API token forgets the token and says so', async () => {
    setApiToken('plt_old')
    stubFetch(() => json({ error: 'the token was revoked' }, 401))
    await expect(getLoad()).rejects.toThrow('the token was revoked')
    expect(events).toEqual([{ type: 'ended', reason: 'the API token was refused: the token was revoked' }])
    expect(window.sessionStorage.getItem('pulse.admin_token')).toBeNull()
  })

  it('of a wrong password is the answer, not the end of a session', async () => {
    stubFetch(() => json({ error: 'wrong email or password' }, 401))
    await expect(signIn('a@example.com', 'nope')).rejects.toThrow('wrong email or password')
    expect(events).toEqual([])
  })

  it('of a request sent before the latest sign-in is old news', async () => {
    let answer: (r: Response) => void = () => {}
    stubFetch(({ url }) =>
      url === '/api/auth/login/' ? json(me()) : new Promise<Response>((resolve) => (answer = resolve)),
    )
    const old = getLoad()
    await signIn('op@example.com', 'secret-pw')
    answer(json({ error: 'the session has ended: sign in again' }, 401))
    await expect(old).rejects.toThrow('the session has ended')
    expect(events).toEqual([])
  })
})

describe('a refused CSRF token', () => {
  it('is read again from /me and the request sent once more', async () => {
    let csrf = 'csrf-old'
    const calls = stubFetch(({ url, headers }) => {
      if (url === '/api/auth/me/') return json(me({ csrf_token: csrf }))
      if (headers['X-CSRF-Token'] !== 'csrf-new')
        return json({ error: 'missing or wrong X-CSRF-Token header: reload the page' }, 403)
      return json(run)
    })
    await whoami()
    // Another tab signed in: the cookie is a new session's.
    csrf = 'csrf-new'
    expect(await send('/api/load/', 'POST', {})).toEqual(run)
    expect(calls.map((c) => `${c.method} ${c.url} ${c.headers['X-CSRF-Token'] ?? ''}`)).toEqual([
      'GET /api/auth/me/ ',
      'POST /api/load/ csrf-old',
      'GET /api/auth/me/ ',
      'POST /api/load/ csrf-new',
    ])
    expect(events).toEqual([{ type: 'known', me: me({ csrf_token: 'csrf-new' }) }])
  })

  it('twice is the answer', async () => {
    stubFetch(({ url }) =>
      url === '/api/auth/me/' ? json(me()) : json({ error: 'missing or wrong X-CSRF-Token header' }, 403),
    )
    await expect(send('/api/load/', 'POST', {})).rejects.toThrow('missing or wrong X-CSRF-Token header')
  })
})
