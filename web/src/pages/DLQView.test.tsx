import { render, screen, waitFor, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { setApiToken } from '../api/credentials'
import type { DLQRecord } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { DLQView, prettyPayload } from './DLQView'

function record(over: Partial<DLQRecord> = {}): DLQRecord {
  return {
    id: '0:4',
    partition: 0,
    offset: 4,
    timestamp: '2026-11-25T10:00:03Z',
    key: 'user_ab12',
    original_topic: 'user_events',
    original_partition: 2,
    original_offset: 41,
    error: 'simulated failure (should_fail)',
    kind: 'simulated failure',
    attempts: 4,
    consumer_id: 'pulse-1',
    failed_at: '2026-11-25T10:00:03Z',
    event_id: 'ev-5',
    payload: '{"event_id":"ev-5","element_id":"button_5","should_fail":true}',
    replayed: false,
    replayed_at: null,
    ...over,
  }
}

const view = {
  total: 3,
  groups: [
    { kind: 'simulated failure', count: 2, records: [record(), record({ id: '0:5', offset: 5, event_id: 'ev-6' })] },
    {
      kind: 'invalid JSON',
      count: 1,
      records: [record({ id: '1:0', kind: 'invalid JSON', event_id: '', payload: 'not json {' })],
    },
  ],
}

function server(
  replay: (c: Call) => Response = (c) => {
    const body = c.body as { dry_run: boolean; ids?: string[] }
    return json({
      dry_run: body.dry_run,
      count: 1,
      skipped_replayed: 0,
      records: [{ id: '0:4', event_id: 'ev-5', original_offset: 41 }],
    })
  },
): Call[] {
  return stubFetch((c) => {
    if (c.url.startsWith('/api/dlq/?')) return json(view)
    if (c.url === '/api/dlq/replay/' && c.method === 'POST') return replay(c)
    return json({ error: 'unexpected' }, 500)
  })
}

describe('DLQView', () => {
  it('keeps the open groups and the inspected record in the URL, and opens what a link names', async () => {
    window.history.replaceState(null, '', '/#/dlq?kind=invalid+JSON&record=1%3A0')
    server()
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    const details = await screen.findByRole('region', { name: 'Dead letter 1:0' })
    expect(within(details).getByLabelText('Payload').textContent).toBe('not json {')
    expect(screen.getByRole('table', { name: 'Records of invalid JSON' })).toBeTruthy()
    expect(screen.queryByRole('table', { name: 'Records of simulated failure' })).toBeNull()

    await user.click(screen.getByRole('button', { name: /^simulated failure/ }))
    expect(new URLSearchParams(window.location.hash.split('?')[1]).getAll('kind')).toEqual([
      'invalid JSON',
      'simulated failure',
    ])
    await user.click(within(details).getByRole('button', { name: 'Close record 1:0' }))
    expect(window.location.hash).not.toContain('record=')
    expect(screen.queryByRole('region', { name: 'Dead letter 1:0' })).toBeNull()
  })

  it('groups records by kind and inspects one with its payload pretty-printed', async () => {
    server()
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    const kinds = await screen.findByRole('list', { name: 'Error kinds' })
    const group = within(kinds).getByRole('button', { name: /simulated failure/ })
    expect(group.getAttribute('aria-expanded')).toBe('false')
    expect(group.textContent).toContain('2')
    await user.click(group)
    expect(group.getAttribute('aria-expanded')).toBe('true')
    await user.click(screen.getByRole('button', { name: 'Inspect record 0:4' }))
    const details = screen.getByRole('region', { name: 'Dead letter 0:4' })
    expect(details.textContent).toContain('user_events / partition 2 / offset 41')
    expect(details.textContent).toContain('simulated failure (should_fail)')
    expect(details.textContent).toContain('pulse-1')
    expect(within(details).getByLabelText('Payload').textContent).toBe(
      '{\n  "event_id": "ev-5",\n  "element_id": "button_5",\n  "should_fail": true\n}',
    )
  })

  it('replays a selection: dry run first, then confirm posts the same selection', async () => {
    const calls = server()
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    await user.click(await screen.findByRole('button', { name: /simulated failure/ }))
    const confirm = screen.getByRole('button', { name: /Confirm replay/ })
    expect(confirm).toHaveProperty('disabled', true)
    await user.click(screen.getByRole('checkbox', { name: 'Select record 0:4' }))
    const rate = screen.getByLabelText('Rate (records/s)')
    await user.clear(rate)
    await user.type(rate, '50')
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    const plan = await screen.findByRole('list', { name: 'Would be replayed' })
    expect(plan.textContent).toContain('0:4 → event ev-5 (original offset 41)')
    expect(screen.getByText(/1 record would be replayed .* 50 records\/s, simulation flags stripped/)).toBeTruthy()
    await user.click(screen.getByRole('button', { name: 'Confirm replay of 1' }))
    expect(await screen.findByText(/Replayed 1 record: 0:4/)).toBeTruthy()
    const posts = calls.filter((c) => c.method === 'POST')
    expect(posts.map((c) => c.body)).toEqual([
      { ids: ['0:4'], rate: 50, strip_simulation: true, dry_run: true },
      { ids: ['0:4'], rate: 50, strip_simulation: true, dry_run: false },
    ])
    expect(posts[0].headers.Authorization).toBeUndefined()
  })

  it('replays a whole group by kind, without stripping when unticked, with the API token of the tab', async () => {
    const calls = server()
    setApiToken('s3cret')
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    await user.click(await screen.findByRole('checkbox', { name: 'Select group invalid JSON' }))
    await user.click(screen.getByRole('checkbox', { name: /Strip simulation/ }))
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    await screen.findByRole('list', { name: 'Would be replayed' })
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.body).toEqual({ kind: 'invalid JSON', rate: 100, strip_simulation: false, dry_run: true })
    expect(post?.headers.Authorization).toBe('Bearer s3cret')
  })

  it("shows the server's refusal in its words", async () => {
    server(() => json({ error: 'this needs the operator role; you have viewer' }, 403))
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    await user.click(await screen.findByRole('checkbox', { name: 'Select group simulated failure' }))
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toBe('Replay failed: this needs the operator role; you have viewer')
    expect(screen.getByRole('button', { name: /Confirm replay/ })).toHaveProperty('disabled', true)
  })

  it('a change of selection voids the dry run', async () => {
    server()
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    await user.click(await screen.findByRole('checkbox', { name: 'Select group simulated failure' }))
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    await screen.findByRole('list', { name: 'Would be replayed' })
    await user.click(screen.getByRole('checkbox', { name: 'Select group invalid JSON' }))
    await waitFor(() => expect(screen.queryByRole('list', { name: 'Would be replayed' })).toBeNull())
    expect(screen.getByRole('button', { name: /Confirm replay/ })).toHaveProperty('disabled', true)
  })

  it('shows a payload that is not JSON as it is', () => {
    expect(prettyPayload('not json {')).toBe('not json {')
    expect(prettyPayload('{"a":1}')).toBe('{\n  "a": 1\n}')
  })

  it('pages a large group, names each record by its key and the end of its id, and marks the replayed', async () => {
    window.history.replaceState(null, '', '/#/dlq?kind=simulated+failure')
    const records = Array.from({ length: 60 }, (_, i) =>
      record({
        id: `0:${i}`,
        offset: i,
        key: `user_${i}:button_click`,
        event_id: `01a2379e-ca37-7342-85ed-9b5874da${String(i).padStart(4, '0')}`,
        replayed: i === 1,
        replayed_at: i === 1 ? '2026-11-25T11:00:00Z' : null,
      }),
    )
    stubFetch(() => json({ total: 60, groups: [{ kind: 'simulated failure', count: 60, records }] }))
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    const table = await screen.findByRole('table', { name: 'Records of simulated failure' })
    expect(within(table).getAllByRole('row')).toHaveLength(26) // a header and 25 records
    expect(table.textContent).toContain('user_1:button_click')
    expect(table.textContent).toContain('…74da0001')
    expect(table.textContent).toMatch(/replayed \d\d?:\d\d:\d\d/)
    expect(screen.getByText('1 replayed before')).toBeTruthy()
    expect(screen.getByText('Records 1–25 of 60')).toBeTruthy()
    await user.click(screen.getByRole('button', { name: 'Next' }))
    await user.click(screen.getByRole('button', { name: 'Next' }))
    expect(screen.getByText('Records 51–60 of 60')).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Next' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('table', { name: 'Records of simulated failure' }).textContent).toContain(
      'user_59:button_click',
    )
  })

  it('replays a group without its replayed records unless asked, and says how many it skipped', async () => {
    window.history.replaceState(null, '', '/#/dlq')
    const calls = server((c) => {
      const body = c.body as { dry_run: boolean; include_replayed?: boolean }
      return json({
        dry_run: body.dry_run,
        count: body.include_replayed ? 2 : 1,
        skipped_replayed: body.include_replayed ? 0 : 1,
        records: [{ id: '0:5', event_id: 'ev-6', original_offset: 42 }],
      })
    })
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />)
    await user.click(await screen.findByRole('checkbox', { name: 'Select group simulated failure' }))
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    expect(await screen.findByText(/1 replayed before is skipped/)).toBeTruthy()
    await user.click(screen.getByRole('checkbox', { name: /replayed before too/ }))
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    await screen.findByText(/Dry run: 2 records would be replayed/)
    const bodies = calls.filter((c) => c.method === 'POST').map((c) => c.body)
    expect(bodies).toEqual([
      { kind: 'simulated failure', rate: 100, strip_simulation: true, dry_run: true },
      { kind: 'simulated failure', rate: 100, strip_simulation: true, include_replayed: true, dry_run: true },
    ])
  })
})
