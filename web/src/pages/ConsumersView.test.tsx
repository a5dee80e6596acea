import userEvent from '@testing-library/user-event'
import { render, screen, within } from '../test/render'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Marker } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { consumersView as consumers } from '../test/fixtures'
import { ConsumersView, lagXRange } from './ConsumersView'

const history = {
  range: '1h',
  interval_seconds: 5,
  step_seconds: 30,
  from: '2026-11-25T09:00:30Z',
  to: '2026-11-25T10:00:30Z',
  points: [
    { t: '2026-11-25T09:59:55Z', total_lag: 3, max_lag_seconds: 1, events_per_second: 10 },
    { t: '2026-11-25T10:00:00Z', total_lag: 7, max_lag_seconds: 4.25, events_per_second: 12 },
  ],
  markers: [
    { t: '2026-11-25T09:59:56Z', kind: 'rebalance', detail: 'member joined' },
    {
      t: '2026-11-25T09:59:57Z',
      kind: 'rewind',
      detail: 'group g rewound on user_events to earliest: partition 0 offsets 0-10; 10 records to process again',
    },
    { t: '2026-11-25T09:59:58Z', kind: 'dlq_burst', detail: '12 records in 5 s' },
  ],
}

let calls: Call[] = []
const fetchedUrls = () => calls.map((c) => c.url)

describe('ConsumersView', () => {
  beforeEach(() => {
    window.history.replaceState(null, '', '/#/consumers')
    calls = stubFetch(({ url }) =>
      url === '/api/consumers/'
        ? json(consumers)
        : url.startsWith('/api/consumers/history/?range=')
          ? json({ ...history, range: url.slice(url.indexOf('=') + 1) })
          : json({ error: 'no' }, 404),
    )
  })

  it('shows the group, members with local counters, and lag in records and seconds', async () => {
    render(<ConsumersView pollMs={60_000} historyPollMs={60_000} />)
    const summary = await screen.findByLabelText('Group summary')
    expect(summary.textContent).toContain('Stable')
    expect(summary.textContent).toContain('7 records')
    expect(summary.textContent).toContain('4.3s')
    expect(summary.textContent).toContain('0.3s')

    const members = within(screen.getByRole('table', { name: 'Members' })).getAllByRole('row')
    expect(members[1].textContent).toContain('pulse-1')
    expect(members[1].textContent).toContain('this process')
    expect(members[1].textContent).toContain('1,250')
    expect(members[2].textContent).toContain('remote')
    expect(members[2].textContent).not.toMatch(/\d,\d/)

    const parts = within(screen.getByRole('table', { name: 'Partitions' })).getAllByRole('row')
    expect(
      parts.map((r) =>
        within(r)
          .queryAllByRole('cell')
          .map((c) => c.textContent),
      ),
    ).toEqual([[], ['0', 'pulse-1', '10', '17', '7', '4.3s', '10'], ['1', '—', '—', '0', '0', '0s', '—']])
  })

  it('draws the lag history with its markers named in the legend', async () => {
    render(<ConsumersView pollMs={60_000} historyPollMs={60_000} />)
    expect(await screen.findByRole('img', { name: 'Consumer lag history, last 1 h' })).toBeTruthy()
    expect(screen.getByText(/2 points, each the highest of its 30 s \(sampled every 5 s\)/)).toBeTruthy()
    const legend = within(screen.getByRole('list', { name: 'Chart markers' })).getAllByRole('listitem')
    expect(legend.map((l) => l.textContent)).toEqual([
      'Rebalance: 1',
      'Commit stall: 0',
      'DLQ burst: 1',
      'Alert firing: 0',
      'Alert resolved: 0',
      'Rewind: 1',
    ])
    expect(screen.getByText(/Latest marker: DLQ burst .* 12 records in 5 s/)).toBeTruthy()
  })

  it('asks the server for the range picked', async () => {
    const user = userEvent.setup()
    render(<ConsumersView pollMs={60_000} historyPollMs={60_000} />)
    await screen.findByRole('img', { name: 'Consumer lag history, last 1 h' })
    await user.click(screen.getByRole('radio', { name: '24 h' }))
    expect(await screen.findByRole('img', { name: 'Consumer lag history, last 24 h' })).toBeTruthy()
    expect(fetchedUrls()).toContain('/api/consumers/history/?range=24h')
    expect(new URLSearchParams(window.location.hash.split('?')[1]).get('range')).toBe('24h')
  })
})

describe('lagXRange', () => {
  const h = { ...history, range: '1h' as const, points: history.points, markers: [] as Marker[] }
  it('starts one step before the first point, so a young history fills the chart', () => {
    const [from, to] = lagXRange(h)
    expect(to).toBe(Date.parse(h.to) / 1000)
    // 10 steps at least are shown: the first point is under 10 steps before the end.
    expect(from).toBe(to - 300)
  })
  it('spans the whole range without points, and never starts before it', () => {
    expect(lagXRange({ ...h, points: [] })).toEqual([Date.parse(h.from) / 1000, Date.parse(h.to) / 1000])
    const old = { ...h, points: [{ ...h.points[0], t: '2026-11-25T08:00:00Z' }] }
    expect(lagXRange(old)[0]).toBe(Date.parse(h.from) / 1000)
  })
})
