import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Retention } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { averageRow, cohortName, RetentionPage, shade } from './RetentionPage'

const cohorts: Retention['cohorts'] = [
  { start: '2026-11-30T00:00:00Z', users: 40, returned: [40, 12, 9, 7] },
  { start: '2026-12-01T00:00:00Z', users: 35, returned: [35, 10, 6] },
  { start: '2026-12-02T00:00:00Z', users: 0, returned: [0, 0] },
  { start: '2026-12-03T00:00:00Z', users: 28, returned: [28] },
]

function retention(over: Partial<Retention> = {}): Retention {
  return {
    period: 'day',
    from: '2026-11-30T12:00:00Z',
    to: '2026-12-03T12:00:00Z',
    return_event: '',
    cohorts,
    ...over,
  }
}

let calls: Call[] = []
let answer: () => Response
const asked = () => calls.filter((c) => c.url.startsWith('/api/insights/retention/')).map((c) => c.url)
const cellsOf = (row: HTMLElement) => [...row.querySelectorAll('th, td')].map((c) => c.textContent)

describe('RetentionPage', () => {
  beforeEach(() => {
    window.history.replaceState(null, '', '/#/insights/retention')
    answer = () => json(retention())
    calls = stubFetch(({ url }) => (url.startsWith('/api/insights/retention/') ? answer() : json({ error: 'no' }, 404)))
  })

  it('shows the triangle of cohorts as shares of each, under the average weighted by size', async () => {
    render(<RetentionPage knownTypes={['signup']} pollMs={60_000} />)
    const table = await screen.findByRole('table', { name: 'Retention by cohort' })
    expect(asked()[0]).toBe('/api/insights/retention/?period=day&range=14d')
    const rows = within(table).getAllByRole('row')
    expect(cellsOf(rows[0])).toEqual(['Cohort', 'Users', 'Day 0', 'Day 1', 'Day 2', 'Day 3'])
    // (12 + 10) / (40 + 35), (9 + 6) / (40 + 35), 7 / 40: the cohorts that have the day.
    expect(cellsOf(rows[1])).toEqual(['Average', '103', '100%', '29%', '20%', '18%'])
    expect(cellsOf(rows[2])).toEqual([cohortName(cohorts[0].start, 'day'), '40', '100%', '30%', '23%', '18%'])
    expect(cellsOf(rows[3]).slice(1)).toEqual(['35', '100%', '29%', '17%', ''])
    expect(cellsOf(rows[4]).slice(1)).toEqual(['0', '—', '—', '', ''])
    expect(cellsOf(rows[5]).slice(1)).toEqual(['28', '100%', '', '', ''])
    // The count is there on hover; the shade repeats the number, never replaces it.
    const cell = within(rows[2]).getByText('30%')
    expect(cell.getAttribute('title')).toBe('12 of 40 users')
    expect(cell.className).toContain(shade(0.3))
    expect(screen.getByRole('status').textContent).toContain('103 users first seen in 4 days')
  })

  it('keeps the period, range and return event in the URL', async () => {
    const user = userEvent.setup()
    render(<RetentionPage knownTypes={['signup', 'page_view']} pollMs={60_000} />)
    await screen.findByRole('table', { name: 'Retention by cohort' })
    answer = () => json(retention({ period: 'week', return_event: 'signup' }))
    await user.selectOptions(screen.getByLabelText('Range'), '30d')
    expect(window.location.hash).toBe('#/insights/retention?range=30d')
    await user.selectOptions(screen.getByLabelText('Cohorts by'), 'week')
    // A new period starts from its own default range.
    expect(window.location.hash).toBe('#/insights/retention?period=week')
    expect(screen.getByLabelText<HTMLSelectElement>('Range').value).toBe('8w')
    await user.selectOptions(screen.getByLabelText('Coming back means'), 'signup')
    expect(window.location.hash).toBe('#/insights/retention?period=week&return_event=signup')
    await waitFor(() =>
      expect(asked().at(-1)).toBe('/api/insights/retention/?period=week&range=8w&return_event=signup'),
    )
    const table = await screen.findByRole('table', { name: 'Retention by cohort' })
    await waitFor(() => expect(within(table).getAllByRole('row')[0].textContent).toContain('Week 0'))
    expect(screen.getByRole('status').textContent).toContain('coming back means signup')
  })

  it('says so when no user was first seen in the range', async () => {
    answer = () =>
      json(retention({ cohorts: cohorts.map((c) => ({ ...c, users: 0, returned: c.returned.map(() => 0) })) }))
    render(<RetentionPage pollMs={60_000} />)
    expect(await screen.findByText('No users were first seen in this range.')).toBeTruthy()
    expect(screen.queryByRole('table')).toBeNull()
  })

  it('shows what the server refused', async () => {
    window.history.replaceState(null, '', '/#/insights/retention?range=999w')
    answer = () => json({ error: '999 cohorts of a week in this range; at most 120' }, 400)
    render(<RetentionPage pollMs={60_000} />)
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Could not load the retention: 999 cohorts of a week in this range; at most 120',
    )
  })
})

describe('retention arithmetic', () => {
  it('averages each period over the cohorts that reached it, by size', () => {
    expect(averageRow(cohorts).map((a) => [a.returned, a.users])).toEqual([
      [103, 103],
      [22, 75],
      [15, 75],
      [7, 40],
    ])
    expect(averageRow([{ start: 'x', users: 0, returned: [0] }])[0].share).toBeNull()
    expect(averageRow([])).toEqual([])
  })

  it('shades by share, none at zero', () => {
    expect(shade(0)).toBe('')
    expect(shade(null)).toBe('')
    expect(new Set([0.05, 0.2, 0.4, 0.6, 0.9].map(shade)).size).toBe(5)
  })
})
