import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { SavedInsight, Trend } from '../api/schema'
import { SaveInsight } from '../components/SaveInsight'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { PinnedInsights } from './PinnedInsights'
import { SavedInsightsPage } from './SavedInsightsPage'

const at = '2026-12-04T10:00:00Z'
const byPlan: SavedInsight = {
  id: 'ins_1',
  name: 'Signups by plan',
  kind: 'trend',
  query: 'type=signup&breakdown=properties.plan&measure=users',
  pinned: true,
  created_at: at,
  updated_at: at,
}
const checkout: SavedInsight = {
  id: 'ins_2',
  name: 'Checkout',
  kind: 'funnel',
  query: 'step=page_view&step=purchase&window=1h',
  pinned: false,
  created_at: at,
  updated_at: at,
}
const trend: Trend = {
  interval: 'hour',
  breakdown: 'properties.plan',
  measure: 'users',
  exact: false,
  current: {
    from: at,
    to: at,
    buckets: [at],
    series: [{ key: 'pro', total: 4, counts: [4] }],
    total: 4,
  },
  previous: null,
}

let calls: Call[] = []
let saved: SavedInsight[] = []

beforeEach(() => {
  saved = [byPlan, checkout]
  calls = stubFetch(({ method, url, body }) => {
    if (url === '/api/insights/saved/' && method === 'GET') return json({ insights: saved })
    if (url === '/api/insights/saved/' && method === 'POST') {
      const b = body as { name: string; kind: SavedInsight['kind']; query: string; pinned: boolean }
      if (b.name === 'refused') return json({ error: 'this needs the operator role; you have viewer' }, 403)
      return json({ insight: { ...byPlan, id: 'ins_3', ...b } }, 201)
    }
    if (url.startsWith('/api/insights/saved/ins_') && method === 'PATCH')
      return json({ insight: { ...byPlan, ...(body as object) } })
    if (url.startsWith('/api/insights/saved/ins_') && method === 'DELETE') return new Response(null, { status: 204 })
    if (url.startsWith('/api/insights/trend/')) return json(trend)
    return json({ error: 'no' }, 404)
  })
})

describe('SaveInsight', () => {
  it("saves the page's parameters under a name, pinned when asked", async () => {
    window.history.replaceState(null, '', '/#/insights?type=signup&breakdown=page')
    const user = userEvent.setup()
    render(<SaveInsight kind="trend" suggestion="Events of signup by page" />)
    await user.click(screen.getByRole('button', { name: 'Save…' }))
    const name = screen.getByLabelText('Name')
    expect(name).toHaveProperty('value', 'Events of signup by page')
    await user.clear(name)
    await user.type(name, 'Signups per page')
    await user.click(screen.getByLabelText('Pin to the dashboard'))
    await user.click(screen.getByRole('button', { name: 'Save' }))
    expect(await screen.findByRole('status')).toHaveProperty(
      'textContent',
      'Saved as “Signups per page”, pinned to the dashboard. Saved insights',
    )
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.body).toEqual({
      name: 'Signups per page',
      kind: 'trend',
      query: 'type=signup&breakdown=page',
      pinned: true,
    })
  })

  it('says why a save was refused, and keeps the form', async () => {
    window.history.replaceState(null, '', '/#/insights/funnels?step=a&step=b')
    const user = userEvent.setup()
    render(<SaveInsight kind="funnel" suggestion="refused" />)
    await user.click(screen.getByRole('button', { name: 'Save…' }))
    await user.click(screen.getByRole('button', { name: 'Save' }))
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Could not save: this needs the operator role; you have viewer',
    )
    expect(screen.getByLabelText('Name')).toHaveProperty('value', 'refused')
  })
})

describe('SavedInsightsPage', () => {
  it('lists the saved insights, each opening its page as saved; pins, renames and deletes them', async () => {
    const user = userEvent.setup()
    render(<SavedInsightsPage pollMs={60_000} />)
    const table = await screen.findByRole('table', { name: 'Saved insights' })
    expect(within(table).getByRole('link', { name: 'Signups by plan' }).getAttribute('href')).toBe(
      '#/insights?breakdown=properties.plan&measure=users&type=signup',
    )
    expect(within(table).getByRole('link', { name: 'Checkout' }).getAttribute('href')).toBe(
      '#/insights/funnels?step=page_view&step=purchase&window=1h',
    )
    await user.click(screen.getByRole('button', { name: 'Pin Checkout' }))
    await waitFor(() =>
      expect(calls.some((c) => c.method === 'PATCH' && c.url === '/api/insights/saved/ins_2/')).toBe(true),
    )
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ pinned: true })

    await user.click(screen.getByRole('button', { name: 'Rename Signups by plan' }))
    const input = screen.getByLabelText('New name')
    await user.clear(input)
    await user.type(input, 'Users by plan{Enter}')
    await waitFor(() => expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(2))
    expect(calls.filter((c) => c.method === 'PATCH')[1].body).toEqual({ name: 'Users by plan' })

    await user.click(screen.getByRole('button', { name: 'Delete Checkout' }))
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    await user.click(screen.getByRole('button', { name: 'Confirm deleting Checkout' }))
    await waitFor(() =>
      expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/insights/saved/ins_2/')).toBe(true),
    )
  })

  it('says how to save one when none is saved', async () => {
    saved = []
    render(<SavedInsightsPage pollMs={60_000} />)
    expect(await screen.findByText(/Nothing saved yet/)).toBeTruthy()
  })
})

describe('PinnedInsights', () => {
  it('shows the pinned insights only, each asking for its own data', async () => {
    render(<PinnedInsights />)
    const section = await screen.findByRole('region', { name: 'Pinned insights' })
    expect(within(section).getByRole('link', { name: 'Signups by plan' })).toBeTruthy()
    expect(within(section).queryByText('Checkout')).toBeNull()
    expect(await within(section).findByText(/users since/)).toBeTruthy()
    expect(calls.map((c) => c.url)).toContain(
      '/api/insights/trend/?event_type=signup&range=24h&breakdown=properties.plan&measure=users',
    )
  })

  it('shows nothing when none is pinned', async () => {
    saved = [checkout]
    const { container } = render(<PinnedInsights />)
    await waitFor(() => expect(calls.some((c) => c.url === '/api/insights/saved/')).toBe(true))
    expect(container.textContent).toBe('')
  })
})
