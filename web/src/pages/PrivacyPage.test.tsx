import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ErasedUser } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { signedIn } from '../test/session'
import { PrivacyPage } from './PrivacyPage'

const hash = (c: string) => c.repeat(64)

function erased(over: Partial<ErasedUser> = {}): ErasedUser {
  return {
    user_hash: hash('a'),
    erased_at: '2026-12-02T10:00:00Z',
    erased_by: 'admin@example.com',
    events: 12,
    messages: 14,
    ...over,
  }
}

let fields: string[]
let calls: Call[]
let erasedPages: Record<string, { erased: ErasedUser[]; next_before: string | null }>
let eraseAnswer: () => Response

beforeEach(() => {
  fields = ['anonymous_id', 'session_id', 'user_id']
  erasedPages = { '': { erased: [], next_before: null } }
  eraseAnswer = () => json({ user_hash: hash('b'), events: 3, messages: 5, already: false, linked: [] })
  calls = stubFetch(({ method, url, body }) => {
    if (url === '/api/privacy/fields/' && method === 'GET') return json({ fields, masked: false })
    if (url === '/api/privacy/fields/' && method === 'PUT') {
      const next = (body as { fields: string[] }).fields
      const bad = next.find((f) => f.includes('!'))
      if (bad !== undefined) {
        return json({ error: `fields: "${bad}": must be user_id, session_id, anonymous_id or properties.<key>` }, 400)
      }
      fields = [...next].sort()
      return json({ fields, masked: false })
    }
    if (url === '/api/privacy/erase/' && method === 'POST') return eraseAnswer()
    if (url.startsWith('/api/privacy/erased/')) {
      const before = new URL(url, 'http://x').searchParams.get('before') ?? ''
      return json(erasedPages[before])
    }
    return json({ error: 'not here' }, 404)
  })
})

const admin = signedIn('admin', 'admin@example.com')
const puts = () => calls.filter((c) => c.method === 'PUT').map((c) => c.body)

describe('PrivacyPage', () => {
  it('removes and adds personal fields, checks an entry, and saves them together', async () => {
    const user = userEvent.setup()
    render(<PrivacyPage />, { as: admin })
    const list = await screen.findByRole('list', { name: 'Personal fields' })
    expect(
      within(list)
        .getAllByRole('listitem')
        .map((li) => li.querySelector('code')?.textContent),
    ).toEqual(['anonymous_id', 'session_id', 'user_id'])
    expect(screen.getByText(/Viewers and operators see these fields masked everywhere/)).toBeTruthy()
    const save = screen.getByRole('button', { name: 'Save' })
    expect(save).toHaveProperty('disabled', true)

    await user.click(screen.getByRole('button', { name: 'Remove anonymous_id' }))
    const entry = screen.getByLabelText('Add a field')
    await user.type(entry, 'email')
    expect(screen.getByText(/must be user_id, session_id, anonymous_id or properties\.<key>/)).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Add' })).toHaveProperty('disabled', true)
    await user.clear(entry)
    await user.type(entry, 'properties.email{Enter}')
    expect(screen.getByText('Not saved yet.')).toBeTruthy()
    expect(puts()).toEqual([])

    await user.click(save)
    expect(await screen.findByRole('status')).toHaveProperty('textContent', 'Saved.')
    expect(puts()).toEqual([{ fields: ['properties.email', 'session_id', 'user_id'] }])
    expect(within(list).queryByText('anonymous_id')).toBeNull()
    expect(within(list).getByText('properties.email')).toBeTruthy()
  })

  it('shows the server’s refusal of a save in its words, and keeps the edit', async () => {
    const user = userEvent.setup()
    render(<PrivacyPage />, { as: admin })
    await screen.findByRole('list', { name: 'Personal fields' })
    // The client's rule lets this through; the server has the last word.
    await user.type(screen.getByLabelText('Add a field'), 'properties.a!{Enter}')
    await user.click(screen.getByRole('button', { name: 'Save' }))
    expect(
      await screen.findByText(
        'Could not save the personal fields: fields: "properties.a!": must be user_id, session_id, anonymous_id or properties.<key>',
      ),
    ).toBeTruthy()
    expect(screen.getByText('Not saved yet.')).toBeTruthy()
    expect(within(screen.getByRole('list', { name: 'Personal fields' })).getByText('properties.a!')).toBeTruthy()
  })

  it('erases a user only once their id is typed again, and says what was deleted', async () => {
    const user = userEvent.setup()
    render(<PrivacyPage />, { as: admin })
    await user.type(screen.getByLabelText('User ID'), 'user_gone')
    await user.click(screen.getByRole('button', { name: 'Erase…' }))
    const dialog = screen.getByRole('dialog', { name: 'Erase a user' })
    expect(within(dialog).getByText(/It is irreversible\./)).toBeTruthy()
    expect(
      within(dialog).getByText(/any future record of this user, delivered again or replayed, is dead-lettered/),
    ).toBeTruthy()
    const confirm = within(dialog).getByRole('button', { name: 'Erase user_gone' })
    expect(confirm).toHaveProperty('disabled', true)
    await user.type(within(dialog).getByLabelText('Type the user id again to confirm'), 'user_gon')
    expect(confirm).toHaveProperty('disabled', true)
    await user.type(within(dialog).getByLabelText('Type the user id again to confirm'), 'e')
    expect(calls.some((c) => c.url === '/api/privacy/erase/')).toBe(false)

    erasedPages[''] = { erased: [erased({ user_hash: hash('b'), events: 3, messages: 5 })], next_before: null }
    await user.click(confirm)
    expect(await screen.findByRole('status')).toHaveProperty(
      'textContent',
      'Erased user_gone: 3 events and 5 messages deleted.',
    )
    expect(screen.queryByRole('dialog')).toBeNull()
    expect(calls.filter((c) => c.url === '/api/privacy/erase/').map((c) => c.body)).toEqual([{ user_id: 'user_gone' }])
    // The list shows the new entry.
    const table = await screen.findByRole('table', { name: 'Erased users, newest first' })
    await within(table).findByText(`${hash('b').slice(0, 12)}…`)
  })

  it('says when a user was already erased, and shows a refused erasure in the dialog', async () => {
    const user = userEvent.setup()
    render(<PrivacyPage />, { as: admin })
    eraseAnswer = () => json({ error: 'erasing needs the admin role' }, 403)
    await user.type(screen.getByLabelText('User ID'), 'u1{Enter}')
    const dialog = screen.getByRole('dialog', { name: 'Erase a user' })
    await user.type(within(dialog).getByLabelText('Type the user id again to confirm'), 'u1{Enter}')
    expect(await within(dialog).findByText('Could not erase the user: erasing needs the admin role')).toBeTruthy()

    eraseAnswer = () => json({ user_hash: hash('c'), events: 0, messages: 0, already: true, linked: [] })
    await user.click(within(dialog).getByRole('button', { name: 'Erase u1' }))
    expect(await screen.findByRole('status')).toHaveProperty(
      'textContent',
      'u1 was already erased; 0 events and 0 messages deleted.',
    )
  })

  it('lists the erased users with a short hash to copy, and loads older ones', async () => {
    erasedPages = {
      '': { erased: [erased({ user_hash: hash('d') })], next_before: '2026-12-02T10:00:00Z' },
      '2026-12-02T10:00:00Z': {
        erased: [erased({ user_hash: hash('e'), erased_at: '2026-12-01T09:00:00Z', erased_by: 'ci' })],
        next_before: null,
      },
    }
    const user = userEvent.setup()
    render(<PrivacyPage />, { as: admin })
    const table = await screen.findByRole('table', { name: 'Erased users, newest first' })
    await within(table).findByText('dddddddddddd…')
    expect(within(table).getByText('dddddddddddd…').getAttribute('title')).toBe(hash('d'))
    expect(within(table).getByRole('button', { name: 'Copy the hash dddddddddddd…' })).toBeTruthy()
    expect(within(table).getByText('admin@example.com')).toBeTruthy()

    await user.click(screen.getByRole('button', { name: 'Load older' }))
    await within(table).findByText('eeeeeeeeeeee…')
    expect(within(table).getByText('ci')).toBeTruthy()
    expect(calls.filter((c) => c.url.startsWith('/api/privacy/erased/')).map((c) => c.url)).toEqual([
      '/api/privacy/erased/?limit=50',
      '/api/privacy/erased/?limit=50&before=2026-12-02T10%3A00%3A00Z',
    ])
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull())
  })
})
