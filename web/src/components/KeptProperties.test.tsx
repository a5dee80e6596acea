import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { RollupKey } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { breakdownSource, KeptProperties } from './KeptProperties'

const plan: RollupKey = { key: 'plan', added_at: '2026-12-04T08:00:00Z', ready: false, filled: 0.456 }
let kept: RollupKey[]
let calls: Call[]

describe('KeptProperties', () => {
  beforeEach(() => {
    kept = [plan]
    calls = stubFetch(({ method, url, body }) => {
      if (url === '/api/insights/rollup-keys/' && method === 'GET') return json({ keys: kept, max: 2 })
      if (url === '/api/insights/rollup-keys/' && method === 'POST') {
        const k = { key: (body as { key: string }).key, added_at: '2026-12-04T09:00:00Z', ready: true, filled: 1 }
        kept = [...kept, k]
        return json({ key: k }, 201)
      }
      if (url === '/api/insights/rollup-keys/plan/' && method === 'DELETE') {
        kept = kept.filter((k) => k.key !== 'plan')
        return new Response(null, { status: 204 })
      }
      return json({ error: 'no' }, 404)
    })
  })

  it('says where a breakdown by a property is counted from', () => {
    expect(breakdownSource('page', [plan])).toBeNull()
    expect(breakdownSource('properties.plan', undefined)).toBeNull()
    expect(breakdownSource('properties.plan', [plan])).toContain('(45% of the events stored before it was kept)')
    expect(breakdownSource('properties.plan', [{ ...plan, ready: true, filled: 1 }])).toBe(
      'properties.plan is read from the rollups.',
    )
    expect(breakdownSource('properties.country', [plan])).toContain('counted from the events of the range')
  })

  it('keeps the breakdown’s key, lists the keys with their state, and stops keeping one', async () => {
    const user = userEvent.setup()
    render(<KeptProperties breakdown="properties.country" />)
    const list = await screen.findByRole('list', { name: 'Kept property keys' })
    expect(list.textContent).toContain('properties.plan')
    expect(list.textContent).toContain('counting the stored events: 45%')
    expect(screen.getByRole('status').textContent).toContain('properties.country is counted from the events')

    await user.click(screen.getByRole('button', { name: 'Keep country' }))
    await waitFor(() =>
      expect(screen.getByRole('status').textContent).toBe('properties.country is read from the rollups.'),
    )
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ key: 'country' })
    // Two of two: the form says so and keeps no more.
    expect(screen.getByText('At most 2 keys.')).toBeTruthy()

    await user.click(within(list).getByRole('button', { name: 'Stop keeping plan' }))
    await waitFor(() => expect(list.textContent).not.toContain('properties.plan'))
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/insights/rollup-keys/plan/')).toBe(true)
  })

  it('keeps a key typed with or without its prefix, and shows a refusal', async () => {
    const user = userEvent.setup()
    kept = []
    render(<KeptProperties breakdown="" />)
    expect(await screen.findByText('No property is kept yet.')).toBeTruthy()
    await user.type(screen.getByLabelText('Property key'), 'properties.tier')
    await user.click(screen.getByRole('button', { name: 'Keep' }))
    await waitFor(() => expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ key: 'tier' }))

    calls.length = 0
    stubFetch(({ method }) =>
      method === 'POST'
        ? json({ error: "key: property key \"a.b\": use 1 to 64 letters, digits, '_' or '-'" }, 400)
        : json({ keys: [], max: 10 }),
    )
    await user.type(screen.getByLabelText('Property key'), 'a.b')
    await user.click(screen.getByRole('button', { name: 'Keep' }))
    expect((await screen.findByText(/Could not keep the key/)).textContent).toContain('use 1 to 64 letters')
  })
})
