import { beforeEach, describe, expect, it } from 'vitest'
import type { Live } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { LivePage, liveTrend } from './LivePage'

const start = Date.parse('2026-12-04T10:00:00Z')
const live: Live = {
  now: '2026-12-04T10:29:30Z',
  users_5m: 3,
  users_30m: 12,
  sessions_5m: 4,
  sessions_30m: 15,
  events_5m: 9,
  events_30m: 40,
  minutes: Array.from({ length: 30 }, (_, i) => ({
    start: new Date(start + i * 60_000).toISOString().replace('.000', ''),
    events: i === 29 ? 4 : 1,
    users: 1,
  })),
  top_pages: [
    { key: '/pricing', events: 5 },
    { key: '/', events: 2 },
  ],
  top_elements: [],
}

let calls: Call[] = []
let answer: Live

describe('LivePage', () => {
  beforeEach(() => {
    answer = live
    calls = stubFetch(({ url }) => (url === '/api/insights/live/' ? json(answer) : json({ error: 'no' }, 404)))
  })

  it('shows who is on the site now, the minutes and the top pages', async () => {
    render(<LivePage pollMs={60_000} />)
    expect((await screen.findByText('Users, last 5 min')).nextSibling?.textContent).toBe('3')
    expect(screen.getByText('Sessions, last 30 min').nextSibling?.textContent).toBe('15')
    expect(screen.getByText('Events, last 5 min').nextSibling?.textContent).toBe('9')
    const pages = screen.getByRole('table', { name: 'Top pages, last 5 minutes' })
    expect(within(pages).getAllByRole('row')[1].textContent).toContain('/pricing')
    expect(screen.getByText(/No events with an element/)).toBeTruthy()
    expect(screen.getByRole('img', { name: /per minute/ })).toBeTruthy()
  })

  it('says so when nothing happened in the last 30 minutes', async () => {
    answer = { ...live, events_30m: 0, events_5m: 0, users_5m: 0, users_30m: 0, top_pages: [] }
    render(<LivePage pollMs={60_000} />)
    expect(await screen.findByText('No events in the last 30 minutes.')).toBeTruthy()
  })

  it('asks again when the socket counts new stored events', async () => {
    const { rerender } = render(<LivePage pollMs={60_000} stored={1} liveMs={0} />)
    await screen.findByText('Users, last 5 min')
    const before = calls.length
    rerender(<LivePage pollMs={60_000} stored={2} liveMs={0} />)
    await waitFor(() => expect(calls.length).toBe(before + 1))
  })

  it('draws the events and the users of each minute', () => {
    const t = liveTrend(live)
    expect(t.current.buckets).toHaveLength(30)
    expect(t.current.series.map((s) => [s.key, s.total, s.counts[29]])).toEqual([
      ['', 40, 4],
      ['users', 12, 1],
    ])
  })
})
