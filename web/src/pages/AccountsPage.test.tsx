import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Account, APIToken } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { account, open, signedIn } from '../test/session'
import { AccountsPage } from './AccountsPage'

const admin = account({ id: 'acc_admin', email: 'admin@example.com', role: 'admin', last_sign_in_at: null })
const viewer = account({ id: 'acc_v', email: 'v@example.com', role: 'viewer' })

function token(over: Partial<APIToken> = {}): APIToken {
  return {
    id: 'tok_1',
    name: 'ci',
    role: 'operator',
    account_id: 'acc_admin',
    created_at: '2026-12-01T10:00:00Z',
    expires_at: null,
    last_used_at: null,
    revoked_at: null,
    ...over,
  }
}

let accounts: Account[]
let tokens: APIToken[]
let calls: Call[]

const none = () => new Response(null, { status: 204 })

beforeEach(() => {
  accounts = [admin, viewer]
  tokens = [
    token(),
    token({ id: 'tok_2', name: 'old', account_id: '', revoked_at: '2026-12-02T10:00:00Z' }),
    token({ id: 'tok_3', name: 'short', expires_at: '2026-12-01T11:00:00Z' }),
  ]
  calls = stubFetch(({ method, url, body }) => {
    if (url === '/api/accounts/' && method === 'GET') return json({ accounts })
    if (url === '/api/accounts/' && method === 'POST') {
      const b = body as { email: string; role: Account['role']; password: string }
      if (accounts.some((a) => a.email === b.email)) return json({ error: 'an account with this email exists' }, 409)
      const made = account({ id: 'acc_new', email: b.email, role: b.role })
      accounts = [...accounts, made]
      return json({ account: made }, 201)
    }
    const one = /^\/api\/accounts\/(\w+)\/$/.exec(url)
    if (one && method === 'PATCH') {
      const b = body as { role?: Account['role']; password?: string }
      if (one[1] === 'acc_admin' && b.role !== undefined)
        return json({ error: 'the last admin cannot be removed or demoted' }, 409)
      accounts = accounts.map((a) => (a.id === one[1] ? { ...a, ...(b.role ? { role: b.role } : {}) } : a))
      return json({ account: accounts.find((a) => a.id === one[1]) })
    }
    if (one && method === 'DELETE') {
      accounts = accounts.filter((a) => a.id !== one[1])
      return none()
    }
    if (url === '/api/auth/me/') return json(signedIn('admin', 'admin@example.com'))
    if (url === '/api/tokens/' && method === 'GET') return json({ tokens })
    if (url === '/api/tokens/' && method === 'POST') {
      const b = body as { name: string; role: APIToken['role'] }
      const made = token({ id: 'tok_new', name: b.name, role: b.role, created_at: '2026-12-04T10:00:00Z' })
      tokens = [...tokens, made]
      return json({ token: made, secret: 'plt_s3cret_once' }, 201)
    }
    const tok = /^\/api\/tokens\/(\w+)\/$/.exec(url)
    if (tok && method === 'DELETE') {
      tokens = tokens.map((t) => (t.id === tok[1] ? { ...t, revoked_at: '2026-12-04T10:00:00Z' } : t))
      return json({ token: tokens.find((t) => t.id === tok[1]) })
    }
    return json({ error: 'not here' }, 404)
  })
})

const accountsTable = () => screen.findByRole('table', { name: 'Accounts' })
const tokensTable = () => screen.findByRole('table', { name: 'API tokens' })
const row = (table: HTMLElement, text: string) =>
  within(table)
    .getAllByRole('row')
    .find((r) => r.textContent?.includes(text)) ?? Promise.reject(new Error(`no row with ${text}`))

describe('AccountsPage', () => {
  it('lists the accounts and changes a role, showing a refusal in the server’s words', async () => {
    const user = userEvent.setup()
    render(<AccountsPage pollMs={60_000} />, { as: signedIn('admin', 'admin@example.com') })
    const table = await accountsTable()
    expect(within(table).getAllByRole('row')).toHaveLength(3)
    expect(within(await row(table, 'v@example.com')).getByText('never')).toBeTruthy()

    await user.selectOptions(screen.getByLabelText('Role of v@example.com'), 'operator')
    await waitFor(() => expect(calls.some((c) => c.method === 'PATCH')).toBe(true))
    expect(calls.find((c) => c.method === 'PATCH')).toMatchObject({
      url: '/api/accounts/acc_v/',
      body: { role: 'operator' },
    })
    await waitFor(() =>
      expect(screen.getByLabelText<HTMLSelectElement>('Role of v@example.com').value).toBe('operator'),
    )

    await user.selectOptions(screen.getByLabelText('Role of admin@example.com'), 'viewer')
    expect((await screen.findByRole('alert')).textContent).toBe('the last admin cannot be removed or demoted')
    await waitFor(() =>
      expect(screen.getByLabelText<HTMLSelectElement>('Role of admin@example.com').value).toBe('admin'),
    )
  })

  it('adds an account, and says when the email is taken', async () => {
    const user = userEvent.setup()
    render(<AccountsPage pollMs={60_000} />)
    await accountsTable()
    const form = screen.getByRole('form', { name: 'Add an account' })
    await user.type(within(form).getByLabelText('Email'), 'v@example.com')
    await user.selectOptions(within(form).getByLabelText('Role'), 'operator')
    await user.type(within(form).getByLabelText('Password'), 'long-enough')
    await user.click(within(form).getByRole('button', { name: 'Add account' }))
    expect((await within(form).findByRole('alert')).textContent).toBe('an account with this email exists')

    await user.clear(within(form).getByLabelText('Email'))
    await user.type(within(form).getByLabelText('Email'), 'new@example.com')
    await user.click(within(form).getByRole('button', { name: 'Add account' }))
    expect((await within(form).findByRole('status')).textContent).toBe('Added new@example.com as operator.')
    expect(calls.filter((c) => c.method === 'POST').at(-1)?.body).toEqual({
      email: 'new@example.com',
      role: 'operator',
      password: 'long-enough',
    })
    await row(await accountsTable(), 'new@example.com')
  })

  it('resets a password and removes an account once confirmed', async () => {
    const user = userEvent.setup()
    render(<AccountsPage pollMs={60_000} />)
    await accountsTable()
    await user.click(screen.getByRole('button', { name: 'Reset the password of v@example.com…' }))
    await user.type(screen.getByLabelText('New password for v@example.com'), 'another-one')
    await user.click(screen.getByRole('button', { name: 'Set password' }))
    expect((await screen.findByRole('status')).textContent).toContain('every session of v@example.com has ended')
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ password: 'another-one' })
    await user.click(screen.getByRole('button', { name: 'Done' }))

    await user.click(screen.getByRole('button', { name: 'Remove v@example.com…' }))
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    await user.click(screen.getByRole('button', { name: 'Remove' }))
    await waitFor(() => expect(screen.queryByText('v@example.com')).toBeNull())
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe('/api/accounts/acc_v/')
  })

  it('lists the tokens with their state, makes one and shows its secret once, and revokes one', async () => {
    const user = userEvent.setup()
    render(<AccountsPage pollMs={60_000} />)
    const table = await tokensTable()
    expect(within(await row(table, 'ci')).getByText('Active')).toBeTruthy()
    expect(within(await row(table, 'ci')).getByText('admin@example.com')).toBeTruthy()
    expect(within(await row(table, 'old')).getByText('Revoked')).toBeTruthy()
    expect(within(await row(table, 'old')).getByText('the command line')).toBeTruthy()
    expect(within(await row(table, 'short')).getByText('Expired')).toBeTruthy()

    const form = screen.getByRole('form', { name: 'Create an API token' })
    await user.type(within(form).getByLabelText('Name'), 'deploy')
    await user.selectOptions(within(form).getByLabelText('Role'), 'admin')
    await user.selectOptions(within(form).getByLabelText('Expires'), '30 days')
    await user.click(within(form).getByRole('button', { name: 'Create token' }))
    const shown = await screen.findByRole('status')
    expect(shown.textContent).toContain('Copy its secret now: it will not be shown again.')
    expect(within(shown).getByLabelText('The secret of deploy').textContent).toBe('plt_s3cret_once')
    expect(within(shown).getByRole('button', { name: 'Copy the secret of deploy' })).toBeTruthy()
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ name: 'deploy', role: 'admin', expires_in: '30d' })
    await user.click(within(shown).getByRole('button', { name: 'Done, I have copied it' }))
    expect(screen.queryByText('plt_s3cret_once')).toBeNull()

    await user.click(screen.getByRole('button', { name: 'Revoke ci…' }))
    await user.click(screen.getByRole('button', { name: 'Revoke' }))
    await waitFor(async () => expect(within(await row(await tokensTable(), 'ci')).getByText('Revoked')).toBeTruthy())
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe('/api/tokens/tok_1/')
    // Revoked and expired tokens have nothing left to revoke.
    expect(screen.queryByRole('button', { name: 'Revoke old…' })).toBeNull()
  })

  it('warns, on a server open to this machine, that the first account makes everyone sign in', async () => {
    render(<AccountsPage pollMs={60_000} />, { as: open })
    expect(await screen.findByText(/Once you add one, everyone signs in, you too/)).toBeTruthy()
  })
})
