import { render, screen, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { storedEvent } from '../test/fixtures'
import { json, stubFetch } from '../test/fetch'
import { signedIn } from '../test/session'
import { ExplorerView, localToRFC3339, rfc3339ToLocal } from './ExplorerView'

function query(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url, 'http://x').searchParams)
}

describe('ExplorerView', () => {
  it('builds the query string from the filters, leaving out empty ones', async () => {
    const calls = stubFetch(() => json({ events: [], next_cursor: null }))
    const user = userEvent.setup()
    render(<ExplorerView />)
    await screen.findByText('No events match.')
    expect(calls[0].url).toBe('/api/events/?limit=50')

    await user.type(screen.getByLabelText('Element'), 'button_1')
    await user.type(screen.getByLabelText('User'), 'user_ab12')
    await user.type(screen.getByLabelText('Text'), 'hello world')
    await user.type(screen.getByLabelText('From'), '2026-11-25T10:00:00')
    await user.click(screen.getByRole('button', { name: 'Search' }))
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(query(calls[1].url)).toEqual({
      user_id: 'user_ab12',
      element_id: 'button_1',
      from: new Date('2026-11-25T10:00:00').toISOString(),
      q: 'hello world',
      limit: '50',
    })
    expect(new URL(calls[1].url, 'http://x').pathname).toBe('/api/events/')

    const csv = screen.getByRole('link', { name: 'Export CSV' })
    // The server names the file (Content-Disposition).
    expect(csv.hasAttribute('download')).toBe(true)
    expect(query(csv.getAttribute('href') ?? '')).toEqual({
      user_id: 'user_ab12',
      element_id: 'button_1',
      from: new Date('2026-11-25T10:00:00').toISOString(),
      q: 'hello world',
      format: 'csv',
    })
    const nd = screen.getByRole('link', { name: 'Export NDJSON' })
    expect(nd.getAttribute('href')).toMatch(/^\/api\/events\/export\/\?.*format=ndjson/)
    expect(nd.hasAttribute('download')).toBe(true)
  })

  it('appends the next page with the cursor, and hides Load more at the end', async () => {
    const first = [storedEvent({ id: 3, element_id: 'button_3' }), storedEvent({ id: 2, element_id: 'button_2' })]
    const second = [storedEvent({ id: 1, element_id: 'button_1' })]
    const calls = stubFetch(({ url }) =>
      query(url).cursor === 'c-2'
        ? json({ events: second, next_cursor: null })
        : json({ events: first, next_cursor: 'c-2' }),
    )
    const user = userEvent.setup()
    const opened: string[] = []
    render(<ExplorerView onOpenTimeline={(id) => opened.push(id)} />)
    const table = await screen.findByRole('table', { name: 'Events, newest first' })
    await within(table).findByText('button_3')
    await user.click(screen.getByRole('button', { name: 'Load more' }))
    await within(table).findByText('button_1')
    expect(query(calls[1].url)).toEqual({ limit: '50', cursor: 'c-2' })
    const rows = within(table).getAllByRole('row').slice(1)
    expect(rows.map((r) => within(r).getAllByRole('cell')[3].textContent)).toEqual(['button_3', 'button_2', 'button_1'])
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull()
    // The user opens the user's page.
    expect(within(rows[0]).getByRole('link', { name: 'user_ab12' }).getAttribute('href')).toBe('#/users/user_ab12')
    await user.click(within(rows[2]).getByRole('button', { name: /^Timeline/ }))
    expect(opened).toEqual([second[0].event_id])
  })

  it('keeps the searched filter in the URL, and opens the search a link names', async () => {
    window.history.replaceState(null, '', '/#/explorer?event_type=page_view&from=2026-11-25T09%3A00%3A00.000Z')
    const calls = stubFetch(() => json({ events: [], next_cursor: null }))
    const user = userEvent.setup()
    render(<ExplorerView />)
    await screen.findByText('No events match.')
    expect(query(calls[0].url)).toEqual({ event_type: 'page_view', from: '2026-11-25T09:00:00.000Z', limit: '50' })
    expect(screen.getByLabelText<HTMLInputElement>('Type').value).toBe('page_view')
    expect(screen.getByLabelText<HTMLInputElement>('From').value).toBe(rfc3339ToLocal('2026-11-25T09:00:00.000Z'))

    await user.type(screen.getByLabelText('User'), 'user_ab12')
    await user.click(screen.getByRole('button', { name: 'Search' }))
    expect(window.location.hash).toBe(
      '#/explorer?event_type=page_view&from=2026-11-25T09%3A00%3A00.000Z&user_id=user_ab12',
    )
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(query(calls[1].url).user_id).toBe('user_ab12')
  })

  it('converts datetime-local values to RFC 3339 and back', () => {
    expect(rfc3339ToLocal('2026-11-25T10:00:00.000Z')).toMatch(/^2026-11-2\dT\d\d:00$/)
    expect(localToRFC3339(rfc3339ToLocal('2026-11-25T10:00:05.000Z'))).toBe('2026-11-25T10:00:05.000Z')
    expect(rfc3339ToLocal('nonsense')).toBe('')
    expect(localToRFC3339('')).toBeUndefined()
    expect(localToRFC3339('nonsense')).toBeUndefined()
    expect(localToRFC3339('2026-11-25T10:00')).toBe(new Date('2026-11-25T10:00').toISOString())
  })

  it('disables the filters by personal fields for a reader who sees them masked, and shows the masked values', async () => {
    const events = [storedEvent({ user_id: 'masked-3f9a1c02b7d4', session_id: 'masked-0123456789ab' })]
    stubFetch(({ url }) =>
      url === '/api/privacy/fields/'
        ? json({ fields: ['anonymous_id', 'session_id', 'user_id'], masked: true })
        : json({ events, next_cursor: null }),
    )
    render(<ExplorerView />, { as: signedIn('viewer') })
    await vi.waitFor(() => expect(screen.getByLabelText<HTMLInputElement>('User').disabled).toBe(true))
    expect(screen.getByLabelText<HTMLInputElement>('Session').disabled).toBe(true)
    expect(screen.getByLabelText<HTMLInputElement>('Element').disabled).toBe(false)
    expect(
      screen.getByText(/User and Session are personal fields: searching by them needs the admin role\./),
    ).toBeTruthy()
    const table = await screen.findByRole('table', { name: 'Events, newest first' })
    expect(within(table).queryByRole('link')).toBeNull()
    expect(
      within(table)
        .getAllByTitle('masked: a personal field')
        .map((e) => e.textContent),
    ).toEqual(['masked-3f9a1c02b7d4 (masked: a personal field)', 'masked-0123456789ab (masked: a personal field)'])
  })

  it('asks an admin nothing about personal fields, and leaves the filters enabled', async () => {
    const calls = stubFetch(() => json({ events: [], next_cursor: null }))
    render(<ExplorerView />, { as: signedIn('admin') })
    await screen.findByText('No events match.')
    expect(calls.map((c) => c.url)).toEqual(['/api/events/?limit=50'])
    expect(screen.getByLabelText<HTMLInputElement>('User').disabled).toBe(false)
    expect(screen.queryByText(/personal field/)).toBeNull()
  })

  it('shows the server’s refusal of a search by a personal field', async () => {
    window.history.replaceState(null, '', '/#/explorer?user_id=user_ab12')
    const refusal = 'user_id: user_id is a personal field; filtering by it needs the admin role'
    stubFetch(({ url }) =>
      url === '/api/privacy/fields/' ? json({ fields: ['user_id'], masked: true }) : json({ error: refusal }, 403),
    )
    render(<ExplorerView />, { as: signedIn('operator') })
    expect(await screen.findByText(`Could not load events: ${refusal}`)).toBeTruthy()
  })
})
