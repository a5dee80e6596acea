import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Funnel } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { describeFilter, joinList, splitList } from '../components/Filters'
import { FunnelsPage, stepParams, stepsOf, stepsProblem } from './FunnelsPage'

const known = ['page_view', 'signup', 'purchase']

function funnel(over: Partial<Funnel> = {}): Funnel {
  return {
    from: '2026-11-26T12:00:00Z',
    to: '2026-12-03T12:00:00Z',
    window_seconds: 86_400,
    dropped_users_limit: 100,
    steps: [
      {
        event_type: 'page_view',
        filters: [{ field: 'page', op: 'equals', value: '/pricing' }],
        count: 4,
        conversion: 1,
        step_conversion: 1,
        dropped: 0,
        median_seconds: null,
        dropped_users: [],
      },
      {
        event_type: 'signup',
        filters: [],
        count: 2,
        conversion: 0.5,
        step_conversion: 0.5,
        dropped: 2,
        median_seconds: 42,
        dropped_users: ['user_c', 'user_d'],
      },
      {
        event_type: 'purchase',
        filters: [],
        count: 1,
        conversion: 0.25,
        step_conversion: 0.5,
        dropped: 1,
        median_seconds: 180,
        dropped_users: ['user_b'],
      },
    ],
    ...over,
  }
}

let calls: Call[] = []
let answer: () => Response
const posts = () => calls.filter((c) => c.url === '/api/insights/funnel/').map((c) => c.body)
const page = () => render(<FunnelsPage knownTypes={known} pollMs={60_000} settleMs={0} />)

describe('FunnelsPage', () => {
  beforeEach(() => {
    window.history.replaceState(
      null,
      '',
      '/#/insights/funnels?step=page_view&step=signup&step=purchase&where=0:page:equals:/pricing',
    )
    answer = () => json(funnel())
    calls = stubFetch(({ url }) => (url === '/api/insights/funnel/' ? answer() : json({ error: 'no' }, 404)))
  })

  it('asks for the funnel in the URL and draws its steps with their numbers', async () => {
    page()
    const chart = await screen.findByRole('list', { name: 'Funnel chart' })
    expect(posts()[0]).toEqual({
      steps: [
        { event_type: 'page_view', filters: [{ field: 'page', op: 'equals', value: '/pricing' }] },
        { event_type: 'signup', filters: [] },
        { event_type: 'purchase', filters: [] },
      ],
      window: '1d',
      range: '7d',
    })
    const bars = within(chart).getAllByRole('listitem')
    expect(bars.map((b) => b.textContent)).toEqual([
      '1. page_view4 users · 100%',
      '2. signup2 users · 50% · 2 dropped (50%)',
      '3. purchase1 user · 25% · 1 dropped (50%)',
    ])
    expect(screen.getByRole('status').textContent).toContain('went on to purchase within 1 d')

    const rows = within(screen.getByRole('table', { name: 'Funnel steps' })).getAllByRole('row')
    expect(rows[1].textContent).toContain('page = /pricing')
    const cells = within(rows[2])
      .getAllByRole('cell')
      .map((c) => c.textContent)
    expect(cells.slice(1, 6)).toEqual(['2', '50%', '50%', '2', '42 s'])
    expect(within(rows[3]).getAllByRole('cell')[5].textContent).toBe('3 min')

    // The dropped users, each a link to the user's page.
    expect(within(rows[2]).getByText('2 users dropped')).toBeTruthy()
    expect(within(rows[2]).getByRole('link', { name: 'user_c', hidden: true }).getAttribute('href')).toBe(
      '#/users/user_c',
    )
    expect(within(rows[1]).queryByText(/dropped/)).toBeNull()
  })

  it('keeps the steps, window, range and breakdown in the URL, and asks again', async () => {
    const user = userEvent.setup()
    page()
    await screen.findByRole('list', { name: 'Funnel chart' })
    const steps = screen.getByRole('list', { name: 'Steps' })

    await user.click(within(steps).getByRole('button', { name: 'Remove step 2' }))
    expect(window.location.hash).toBe(
      '#/insights/funnels?step=page_view&step=purchase&where=0%3Apage%3Aequals%3A%2Fpricing',
    )
    await user.click(within(steps).getByRole('button', { name: 'Move step 1 down' }))
    expect(stepsOf(new URLSearchParams(window.location.hash.split('?')[1]))).toEqual([
      { type: 'purchase', filters: [] },
      { type: 'page_view', filters: [{ field: 'page', op: 'equals', value: '/pricing' }] },
    ])
    await user.click(screen.getByRole('button', { name: '+ Add step' }))
    const third = within(steps).getByRole('group', { name: 'Step 3' })
    expect(within(third).getByLabelText<HTMLSelectElement>('Event type').value).toBe('signup')
    await user.selectOptions(within(third).getByLabelText('Event type'), 'purchase')

    await user.selectOptions(screen.getByLabelText('Within'), '1h')
    await user.selectOptions(screen.getByLabelText('First step in'), '30d')
    await user.selectOptions(screen.getByLabelText('Breakdown'), 'properties.')
    expect(screen.getByText(/a property key is 1 to 64 letters/)).toBeTruthy()
    await user.type(screen.getByLabelText('Breakdown: property key'), 'plan')
    await user.selectOptions(screen.getByLabelText('Top values'), '10')

    const want = {
      steps: [
        { event_type: 'purchase', filters: [] },
        { event_type: 'page_view', filters: [{ field: 'page', op: 'equals', value: '/pricing' }] },
        { event_type: 'purchase', filters: [] },
      ],
      window: '1h',
      range: '30d',
      breakdown: 'properties.plan',
      limit: 10,
    }
    await waitFor(() => expect(posts().at(-1)).toEqual(want))
    for (const part of ['window=1h', 'range=30d', 'breakdown=properties.plan', 'limit=10'])
      expect(window.location.hash).toContain(part)

    // The link reproduces the view: a fresh page on the same URL asks the same.
    const before = posts().length
    page()
    await waitFor(() => expect(posts().length).toBeGreaterThan(before))
    expect(posts().at(-1)).toEqual(want)
  })

  it('sends the values of an "is one of" filter as a list', async () => {
    const user = userEvent.setup()
    page()
    await screen.findByRole('list', { name: 'Funnel chart' })
    const second = screen.getByRole('group', { name: 'Step 2' })
    await user.click(within(second).getByRole('button', { name: 'Add a filter to step 2' }))
    const filter = screen.getByRole('group', { name: 'Step 2, filter 1' })
    await user.selectOptions(within(filter).getByLabelText('Field'), 'properties.')
    await user.type(within(filter).getByLabelText('Field: property key'), 'plan')
    await user.selectOptions(within(filter).getByLabelText('Operator'), 'in')
    expect(screen.getByText('Step 2: “is one of” needs a value.')).toBeTruthy()
    await user.type(within(filter).getByLabelText('Values, comma-separated'), 'pro, team')
    await waitFor(() =>
      expect((posts().at(-1) as { steps: unknown[] }).steps[1]).toEqual({
        event_type: 'signup',
        filters: [{ field: 'properties.plan', op: 'in', values: ['pro', 'team'] }],
      }),
    )
    expect(new URLSearchParams(window.location.hash.split('?')[1]).getAll('where')).toEqual([
      '0:page:equals:/pricing',
      '1:properties.plan:in:pro, team',
    ])
    await user.click(within(filter).getByRole('button', { name: 'Remove filter 1 of step 2' }))
    expect(screen.queryByRole('group', { name: 'Step 2, filter 1' })).toBeNull()
  })

  it('shows what the server refused', async () => {
    answer = () => json({ error: 'steps[0]: filter: property key "a b": use 1 to 64 letters' }, 400)
    page()
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Could not load the funnel: steps[0]: filter: property key "a b": use 1 to 64 letters',
    )
  })

  it('renders a breakdown as counts per value and step, with conversion', async () => {
    window.history.replaceState(null, '', '/#/insights/funnels?step=page_view&step=signup&breakdown=page')
    answer = () =>
      json(
        funnel({
          steps: funnel().steps.slice(0, 2),
          breakdown: [
            { value: '/pricing', steps: [{ count: 3 }, { count: 2 }] },
            { value: '', steps: [{ count: 1 }, { count: 0 }] },
            { value: '(other)', other: true, steps: [{ count: 2 }, { count: 1 }] },
          ],
        }),
      )
    page()
    const table = await screen.findByRole('table', { name: 'Funnel by page' })
    expect(posts()[0]).toMatchObject({ breakdown: 'page', limit: 5 })
    const rows = within(table)
      .getAllByRole('row')
      .map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent))
    expect(rows).toEqual([
      ['Page', '1. page_view', '2. signup'],
      ['/pricing', '3', '2 (67%)'],
      ['(none)', '1', '0 (0%)'],
      ['(other)', '2', '1 (50%)'],
    ])
  })

  it('does not ask for a funnel of fewer than two steps', async () => {
    window.history.replaceState(null, '', '/#/insights/funnels?step=page_view')
    page()
    expect(await screen.findByText(/A funnel has 2 to 10 steps/)).toBeTruthy()
    expect(posts()).toEqual([])
  })
})

describe('funnel state', () => {
  it('reads and writes steps and filters, colons in values and all', () => {
    const steps = [
      { type: 'page_view', filters: [{ field: 'page', op: 'contains' as const, value: 'http://x/a:b' }] },
      { type: 'signup', filters: [{ field: 'source_id', op: 'is_set' as const, value: '' }] },
    ]
    const q = new URLSearchParams()
    const p = stepParams(steps)
    for (const s of p.step) q.append('step', s)
    for (const w of p.where) q.append('where', w)
    expect(stepsOf(new URLSearchParams(q.toString()))).toEqual(steps)
    expect(stepsOf(new URLSearchParams('step=a&where=3:page:equals:x&where=0:page:like:x'))).toEqual([
      { type: 'a', filters: [] },
    ])
  })

  it('splits lists with escaped commas', () => {
    expect(splitList(' pro, team ,,')).toEqual(['pro', 'team'])
    expect(splitList(joinList(['a,b', 'c\\d']))).toEqual(['a,b', 'c\\d'])
  })

  it('names what is missing and words filters', () => {
    expect(stepsProblem([{ type: 'a', filters: [] }])).toMatch(/2 to 10 steps/)
    expect(
      stepsProblem([
        { type: 'a', filters: [] },
        { type: 'b', filters: [{ field: 'properties.a b', op: 'is_set', value: '' }] },
      ]),
    ).toMatch(/^Step 2: a property key/)
    expect(describeFilter({ field: 'properties.plan', op: 'in', values: ['pro', 'team'] })).toBe(
      'properties.plan is one of pro, team',
    )
    expect(describeFilter({ field: 'page', op: 'not_equals', value: '/' })).toBe('page ≠ /')
  })
})
