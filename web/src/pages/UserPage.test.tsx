import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { UserProfile } from '../api/schema'
import { userHash, userIdOf, subpathOf, viewOf } from '../hooks/route'
import { json, stubFetch, type Call } from '../test/fetch'
import { storedEvent } from '../test/fixtures'
import { render, screen, within } from '../test/render'
import { UserPage, daysTrend } from './UserPage'

const USER = 'team/ana é'
const PATH = '/api/users/team%2Fana%20%C3%A9/'

const days = Array.from({ length: 90 }, (_, i) => ({
  day: new Date(Date.parse('2026-09-06T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10),
  events: i === 89 ? 3 : i === 80 ? 4 : 0,
}))

const profile: UserProfile = {
  user_id: USER,
  first_seen: '2026-11-25T09:00:00Z',
  last_seen: '2026-12-04T10:15:00Z',
  last_seen_day: false,
  counted_from: '2026-11-25',
  events: 7,
  event_types: { page_view: 4, button_click: 2, signup: 1 },
  days,
  sessions: [
    {
      session_id: 's2',
      start: '2026-12-04T10:00:00Z',
      end: '2026-12-04T10:02:30Z',
      events: 3,
      pages: ['/home', '/cart'],
      first_page: '/home',
    },
    {
      session_id: 's1',
      start: '2026-11-25T09:00:00Z',
      end: '2026-11-25T09:00:00Z',
      events: 1,
      pages: [],
      first_page: '',
    },
  ],
  sessions_from_events: 7,
}

function query(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url, 'http://x').searchParams)
}

let answer: Response | (() => Response)
let calls: Call[] = []

describe('UserPage', () => {
  beforeEach(() => {
    answer = () => json(profile)
    const first = [storedEvent({ id: 3, user_id: USER, page: '/cart' }), storedEvent({ id: 2, user_id: USER })]
    const second = [storedEvent({ id: 1, user_id: USER, element_id: 'oldest_button' })]
    calls = stubFetch(({ url }) => {
      if (url === PATH) return typeof answer === 'function' ? answer() : answer
      if (url.startsWith('/api/events/'))
        return query(url).cursor === 'c-2'
          ? json({ events: second, next_cursor: null })
          : json({ events: first, next_cursor: 'c-2' })
      return json({ error: 'no such endpoint' }, 404)
    })
  })

  it('shows the user, their event types, days and sessions, and pages through their events', async () => {
    const user = userEvent.setup()
    render(<UserPage userId={USER} pollMs={60_000} />)
    const figures = await screen.findByRole('list', { name: 'Events per type' })
    const header = screen.getByRole('region', { name: `User ${USER}` })
    expect(within(header).getByText('User ID').nextSibling?.textContent).toBe(USER)
    expect(within(header).getByText('First seen').nextSibling?.textContent).not.toBe('—')
    expect(within(header).getByText('Last seen').nextSibling?.textContent).not.toBe('—')
    expect(within(header).getByText('Events since 2026-11-25').nextSibling?.textContent).toBe('7')
    // Most first.
    expect(
      within(figures)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['page_view4', 'button_click2', 'signup1'])
    expect(screen.getByRole('img', { name: 'Events per day, the last 90 days' })).toBeTruthy()
    expect(screen.getByText('2 active days of the last 90, UTC')).toBeTruthy()

    const sessions = screen.getByRole('table', { name: 'Recent sessions, newest first' })
    const rows = within(sessions).getAllByRole('row').slice(1)
    expect(
      rows.map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent)
          .slice(1),
      ),
    ).toEqual([
      ['2.5 min', '3', '/home → /cart', 's2'],
      ['0 s', '1', '—', 's1'],
    ])
    expect(within(rows[0]).getByRole('link', { name: 'Events of session s2' }).getAttribute('href')).toBe(
      '#/explorer?session_id=s2',
    )
    expect(screen.getByText('From the latest 7 events.')).toBeTruthy()

    // The events, through the explorer's endpoint, filtered by the user.
    const events = await screen.findByRole('table', { name: "The user's events, newest first" })
    await within(events).findAllByText('/cart')
    expect(query(calls.find((c) => c.url.startsWith('/api/events/'))?.url ?? '')).toEqual({
      user_id: USER,
      limit: '50',
    })
    await user.click(screen.getByRole('button', { name: 'Load more' }))
    await within(events).findByText('oldest_button')
    expect(within(events).getAllByRole('row')).toHaveLength(4)
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull()
    // The user column is the page's own: not repeated in each row.
    expect(within(events).queryByRole('columnheader', { name: 'User' })).toBeNull()
  })

  it('says there are no events for a user the server never saw', async () => {
    answer = () => json({ error: `no events for user "${USER}"` }, 404)
    render(<UserPage userId={USER} pollMs={60_000} />)
    expect(await screen.findByText('No events for this user.')).toBeTruthy()
    expect(screen.queryByRole('alert')).toBeNull()
    expect(screen.queryByRole('table')).toBeNull()
  })

  it('shows another error as an error', async () => {
    answer = () => json({ error: 'database is locked' }, 500)
    render(<UserPage userId={USER} pollMs={60_000} />)
    expect((await screen.findByRole('alert')).textContent).toContain('database is locked')
    expect(screen.queryByText('No events for this user.')).toBeNull()
  })

  it('says when a known user has no events stored any more', async () => {
    answer = () =>
      json({
        ...profile,
        last_seen: null,
        events: 0,
        event_types: {},
        days: days.map((d) => ({ ...d, events: 0 })),
        sessions: [],
        sessions_from_events: 0,
      })
    render(<UserPage userId={USER} pollMs={60_000} />)
    expect(await screen.findByText('No events for this user are stored any more.')).toBeTruthy()
    expect(screen.getByText('Last seen').nextSibling?.textContent).toBe('—')
    expect(screen.queryByRole('table')).toBeNull()
  })

  it('shows only the day of a last seen known by its day', async () => {
    answer = () => json({ ...profile, last_seen: '2026-12-04T00:00:00Z', last_seen_day: true })
    render(<UserPage userId={USER} pollMs={60_000} />)
    expect((await screen.findByText('Last seen')).nextSibling?.textContent).toBe('2026-12-04 (UTC day)')
  })

  it('draws each day as a bucket of the chart', () => {
    const t = daysTrend(profile)
    expect(t.current.buckets).toHaveLength(90)
    expect(t.current.buckets[0]).toBe('2026-09-06T00:00:00Z')
    expect(t.current.total).toBe(7)
    expect(t.current.series[0].counts[89]).toBe(3)
  })
})

describe('the user page route', () => {
  it('keeps an id with a slash in one path segment', () => {
    const hash = userHash(USER)
    expect(hash).toBe('#/users/team%2Fana%20%C3%A9')
    expect(viewOf(hash)).toBe('users')
    expect(userIdOf(subpathOf(hash))).toBe(USER)
  })
})
