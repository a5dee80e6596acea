import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import { Root } from '../Root'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { signedIn, stubWebSocket } from '../test/session'

// What POST /api/auth/login/ answers next; held until released when it is a promise.
let login: () => Response | Promise<Response>
let calls: Call[]
// What GET /api/auth/providers/ answers.
let providers: unknown

beforeEach(() => {
  stubWebSocket()
  login = () => json(signedIn('viewer', 'v@example.com'))
  providers = { password: true, oidc: null }
  calls = stubFetch(({ url, headers }) => {
    if (url === '/api/auth/providers/') return json(providers)
    if (url === '/api/auth/me/') {
      if (headers.Authorization === 'Bearer plt_good')
        return json({ ...signedIn('operator'), kind: 'token', account: null })
      if (headers.Authorization !== undefined) return json({ error: 'unknown or revoked API token' }, 401)
      return json({ error: 'sign in first' }, 401)
    }
    if (url === '/api/auth/login/') return login()
    return json({ error: 'not here' }, 404)
  })
})

async function fill(email: string, password: string) {
  const user = userEvent.setup()
  render(<Root />)
  await user.type(await screen.findByLabelText('Email'), email)
  await user.type(screen.getByLabelText('Password'), password)
  return user
}

describe('SignInPage', () => {
  it('shows a wrong password in the server’s words, tied to the fields', async () => {
    login = () => json({ error: 'wrong email or password' }, 401)
    const user = await fill('v@example.com', 'not-it')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toBe('wrong email or password')
    const password = screen.getByLabelText('Password')
    expect(password.getAttribute('aria-invalid')).toBe('true')
    expect(password.getAttribute('aria-describedby')).toBe(alert.id)
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeTruthy()
    expect(calls.find((c) => c.url === '/api/auth/login/')?.body).toEqual({
      email: 'v@example.com',
      password: 'not-it',
    })
  })

  it('says how long to wait after too many attempts', async () => {
    login = () =>
      new Response(JSON.stringify({ error: 'too many sign-in attempts: try again in 42 s' }), {
        status: 429,
        headers: { 'Content-Type': 'application/json', 'Retry-After': '42' },
      })
    const user = await fill('v@example.com', 'guess')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect((await screen.findByRole('alert')).textContent).toBe('too many sign-in attempts: try again in 42 s')
  })

  it('disables Sign in while the answer is awaited, then opens the console', async () => {
    let release: () => void = () => {}
    login = () =>
      new Promise<Response>((resolve) => (release = () => resolve(json(signedIn('viewer', 'v@example.com')))))
    const user = await fill('  v@example.com ', 'right-password')
    const button = screen.getByRole('button', { name: 'Sign in' })
    await user.click(button)
    await waitFor(() => expect(button).toHaveProperty('disabled', true))
    release()
    const header = await screen.findByRole('banner')
    expect(within(header).getByText('v@example.com')).toBeTruthy()
    expect(calls.find((c) => c.url === '/api/auth/login/')?.body).toEqual({
      email: 'v@example.com',
      password: 'right-password',
    })
  })

  it('takes an API token instead, kept for the tab and sent with every request', async () => {
    const user = userEvent.setup()
    render(<Root />)
    await user.click(await screen.findByText('Use an API token instead'))
    const form = screen.getByRole('form', { name: 'Use an API token' })
    await user.type(within(form).getByLabelText('API token'), 'plt_bad')
    await user.click(within(form).getByRole('button', { name: 'Use this token' }))
    expect((await within(form).findByRole('alert')).textContent).toBe(
      'the API token was refused: unknown or revoked API token',
    )
    expect(window.sessionStorage.getItem('pulse.admin_token')).toBeNull()

    await user.clear(within(form).getByLabelText('API token'))
    await user.type(within(form).getByLabelText('API token'), 'plt_good')
    await user.click(within(form).getByRole('button', { name: 'Use this token' }))
    const header = await screen.findByRole('banner')
    expect(within(header).getByText('an API token')).toBeTruthy()
    expect(window.sessionStorage.getItem('pulse.admin_token')).toBe('plt_good')

    // Signing out forgets it: the server then asks for a sign-in again.
    await user.click(within(header).getByRole('button', { name: 'Sign out' }))
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy()
    expect(window.sessionStorage.getItem('pulse.admin_token')).toBeNull()
    expect(calls.some((c) => c.url === '/api/auth/logout/')).toBe(false)
  })

  it('offers the OpenID provider, to come back to the page the user was on', async () => {
    providers = { password: true, oidc: { name: 'Example IdP', login_url: '/api/auth/oidc/login/' } }
    window.history.replaceState(null, '', '/#/explorer?user_id=u1')
    render(<Root />)
    const link = await screen.findByRole('link', { name: 'Sign in with Example IdP' })
    expect(link.getAttribute('href')).toBe(`/api/auth/oidc/login/?next=${encodeURIComponent('/#/explorer?user_id=u1')}`)
    expect(screen.getByLabelText('Email')).toBeTruthy() // the password stays
    window.history.replaceState(null, '', '/')
  })

  it('offers no provider when the server has none', async () => {
    render(<Root />)
    await screen.findByLabelText('Email')
    await waitFor(() => expect(calls.some((c) => c.url === '/api/auth/providers/')).toBe(true))
    expect(screen.queryByRole('link', { name: /Sign in with/ })).toBeNull()
  })

  it('says why the provider’s sign-in was refused, once', async () => {
    window.history.replaceState(null, '', '/?signin_error=no+role+for+this+account#/load')
    render(<Root />)
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toBe('The sign-in with your provider was refused: no role for this account')
    expect(window.location.search).toBe('')
    expect(window.location.hash).toBe('#/load')
    window.history.replaceState(null, '', '/')
  })
})
