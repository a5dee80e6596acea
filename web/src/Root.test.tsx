import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Whoami } from './api/schema'
import { Root } from './Root'
import { json, stubFetch, type Call } from './test/fetch'
import { render, screen, waitFor, within } from './test/render'
import { open, signedIn, stubWebSocket } from './test/session'

const ENDED = { error: 'the session has ended: sign in again' }
const SIGN_IN = { error: 'sign in first' }

// The server: who is signed in (null: no one), what the explorer lists, and every call.
let who: Whoami | null
let calls: Call[]
let sockets: string[]

beforeEach(() => {
  who = null
  sockets = stubWebSocket()
  calls = stubFetch(({ url, method, body }) => {
    if (url === '/api/auth/me/') return who === null ? json(SIGN_IN, 401) : json(who)
    // Public: the ways to sign in.
    if (url === '/api/auth/providers/') return json({ password: true, oidc: null })
    if (url === '/api/auth/login/') {
      const b = body as { email: string; password: string }
      if (b.password !== 'right-password') return json({ error: 'wrong email or password' }, 401)
      who = signedIn('operator', b.email)
      return json(who)
    }
    if (url === '/api/auth/logout/' && method === 'POST') {
      who = null
      return new Response(null, { status: 204 })
    }
    if (who === null) return json(ENDED, 401)
    if (url.startsWith('/api/events/?')) return json({ events: [], next_cursor: null })
    return json({ error: 'not here' }, 404)
  })
})

const nav = () => screen.getByRole('navigation', { name: 'Views' })

describe('Root', () => {
  it('asks for a sign-in before mounting the console, and opens no socket until then', async () => {
    render(<Root />)
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy()
    // The first visit is no ended session: nothing to explain.
    expect(screen.queryByRole('status')).toBeNull()
    expect(screen.queryByRole('navigation', { name: 'Views' })).toBeNull()
    expect(sockets).toEqual([])
    expect(document.title).toBe('Pulse — Sign in')
  })

  it('sends a 401 anywhere to the sign-in page and, signed in, back to the page and its parameters', async () => {
    window.history.replaceState(null, '', '/#/explorer?user_id=user_ab12')
    who = signedIn('viewer', 'me@example.com')
    const user = userEvent.setup()
    render(<Root />)
    await screen.findByRole('navigation', { name: 'Views' })
    expect(within(nav()).getByRole('link', { name: 'Explorer' }).getAttribute('aria-current')).toBe('page')
    await screen.findByText('No events match.')
    expect(sockets).toHaveLength(1)

    // The session ends on the server (removed, signed out elsewhere): the next request says so.
    who = null
    await user.click(screen.getByRole('button', { name: 'Search' }))
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy()
    expect(screen.getByRole('status').textContent).toBe('the session has ended: sign in again')
    expect(window.location.hash).toBe('#/explorer?user_id=user_ab12')

    await user.type(screen.getByLabelText('Email'), 'me@example.com')
    await user.type(screen.getByLabelText('Password'), 'right-password')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    await screen.findByRole('navigation', { name: 'Views' })
    expect(within(nav()).getByRole('link', { name: 'Explorer' }).getAttribute('aria-current')).toBe('page')
    expect(screen.getByLabelText<HTMLInputElement>('User').value).toBe('user_ab12')
    await screen.findByText('No events match.')
    expect(window.location.hash).toBe('#/explorer?user_id=user_ab12')
    const searches = calls.filter((c) => c.url.startsWith('/api/events/?'))
    expect(searches.at(-1)?.url).toContain('user_id=user_ab12')
    // The console came back with a socket of its own.
    expect(sockets).toHaveLength(2)
  })

  it('shows who is signed in, and signs out (everywhere) with the CSRF token', async () => {
    who = signedIn('operator', 'op@example.com')
    const user = userEvent.setup()
    render(<Root />)
    const header = await screen.findByRole('banner')
    await within(header).findByText('op@example.com')
    expect(within(header).getByText('operator')).toBeTruthy()
    await user.click(within(header).getByRole('button', { name: 'Sign out everywhere' }))
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy()
    const logout = calls.find((c) => c.url === '/api/auth/logout/')
    expect(logout?.body).toEqual({ everywhere: true })
    expect(logout?.headers['X-CSRF-Token']).toBe('csrf-operator')
    // A sign-out the user asked for needs no explaining.
    expect(screen.queryByRole('status')).toBeNull()
  })

  it('names a token by the account that made it, whose sign-out forgets it and ends no session', async () => {
    who = { ...signedIn('admin', 'admin@example.com'), kind: 'token', role: 'operator' }
    render(<Root />)
    const header = await screen.findByRole('banner')
    expect(within(header).getByText('an API token of admin@example.com')).toBeTruthy()
    expect(within(header).getByText('operator')).toBeTruthy()
    expect(within(header).getByRole('button', { name: 'Sign out' })).toBeTruthy()
    expect(within(header).queryByRole('button', { name: 'Sign out everywhere' })).toBeNull()
  })

  it('shows no sign-in or sign-out on a server open to this machine, only how to require it', async () => {
    who = open
    render(<Root />)
    const header = await screen.findByRole('banner')
    expect(within(header).getByText(/Open to this machine/)).toBeTruthy()
    expect(within(header).getByRole('link', { name: 'add an account' }).getAttribute('href')).toBe('#/accounts')
    expect(within(header).queryByRole('button', { name: /Sign out/ })).toBeNull()
    expect(within(nav()).getByRole('link', { name: 'Accounts' })).toBeTruthy()
  })

  it('lists Accounts for admins only, and says why to others who go there', async () => {
    window.history.replaceState(null, '', '/#/accounts')
    who = signedIn('operator')
    render(<Root />)
    await screen.findByRole('navigation', { name: 'Views' })
    expect(within(nav()).queryByRole('link', { name: 'Accounts' })).toBeNull()
    expect(screen.getByText('Needs the admin role; you have operator.')).toBeTruthy()
    expect(calls.some((c) => c.url.startsWith('/api/accounts/'))).toBe(false)
  })

  it('lists Privacy for admins only, and says why to others who go there', async () => {
    window.history.replaceState(null, '', '/#/privacy')
    who = signedIn('viewer')
    const { unmount } = render(<Root />)
    await screen.findByRole('navigation', { name: 'Views' })
    expect(within(nav()).queryByRole('link', { name: 'Privacy' })).toBeNull()
    expect(screen.getByText('Needs the admin role; you have viewer.')).toBeTruthy()
    expect(calls.some((c) => c.url.startsWith('/api/privacy/erased/'))).toBe(false)
    unmount()

    who = signedIn('admin')
    render(<Root />)
    await screen.findByRole('navigation', { name: 'Views' })
    expect(within(nav()).getByRole('link', { name: 'Privacy' }).getAttribute('aria-current')).toBe('page')
  })

  it('says when the server cannot be reached, and tries again', async () => {
    let down = true
    stubFetch(({ url }) => {
      if (down) return Promise.reject(new TypeError('Failed to fetch'))
      return url === '/api/auth/me/' ? json(open) : json({ error: 'not here' }, 404)
    })
    const user = userEvent.setup()
    render(<Root />)
    expect((await screen.findByRole('alert')).textContent).toContain('cannot reach the server: Failed to fetch')
    down = false
    await user.click(screen.getByRole('button', { name: 'Try again' }))
    await waitFor(() => expect(screen.getByRole('navigation', { name: 'Views' })).toBeTruthy())
  })
})
