import userEvent from '@testing-library/user-event'
import { render, screen, waitFor, within } from '../test/render'
import { beforeEach, describe, expect, it } from 'vitest'
import type { RewindPlan } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { RewindCard, planSummary, rewindRequest, type RewindForm } from './RewindCard'

const form = (f: Partial<RewindForm>): RewindForm => ({ mode: 'time', time: '', offset: '', partitions: '', ...f })

const plan = (dry: boolean): RewindPlan => ({
  group: 'dashboard_consumer_group',
  topic: 'user_events',
  to: 'earliest',
  dry_run: dry,
  state: 'Stable',
  members: 2,
  partitions: [
    {
      partition: 0,
      committed_offset: 120,
      current_offset: 120,
      target_offset: 0,
      start_offset: 0,
      end_offset: 120,
      records: 120,
      skipped: 0,
      keys: 40,
      keys_lower_bound: false,
      member: 'pulse-1',
    },
    {
      partition: 2,
      committed_offset: 90,
      current_offset: 90,
      target_offset: 10,
      start_offset: 10,
      end_offset: 90,
      records: 80,
      skipped: 0,
      keys: 25,
      keys_lower_bound: true,
    },
  ],
  records: 200,
  skipped: 0,
  keys: 65,
  keys_lower_bound: true,
  applied: !dry,
  ...(dry ? {} : { applied_at: '2026-12-04T14:00:00Z', method: 'members' as const }),
})

describe('rewindRequest', () => {
  it('builds the API target of each mode and checks the input', () => {
    expect(rewindRequest(form({ mode: 'earliest' }), true)).toEqual({ to: 'earliest', dry_run: true })
    expect(rewindRequest(form({ mode: 'latest', partitions: '0, 2' }), false)).toEqual({
      to: 'latest',
      dry_run: false,
      partitions: [0, 2],
    })
    expect(rewindRequest(form({ time: '2026-12-01T14:00:00Z' }), true)).toEqual({
      to: '2026-12-01T14:00:00Z',
      dry_run: true,
    })
    expect(rewindRequest(form({ mode: 'offset', offset: '0=120, 2=40' }), true)).toEqual({
      to: 'offset:0=120,2=40',
      dry_run: true,
    })
    expect(rewindRequest(form({ mode: 'offset', offset: '7' }), true)).toEqual({ to: 'offset:7', dry_run: true })
    expect(rewindRequest(form({ time: 'yesterday' }), true)).toMatch(/^Time:/)
    expect(rewindRequest(form({ mode: 'offset', offset: '-3' }), true)).toMatch(/^Offset:/)
    expect(rewindRequest(form({ mode: 'earliest', partitions: '0,x' }), true)).toMatch(/^Partitions:/)
    expect(rewindRequest(form({ mode: 'offset', offset: '0=1', partitions: '0' }), true)).toMatch(/^Partitions:/)
  })

  it('says when the key count is a lower bound, and how a rewind was applied', () => {
    expect(planSummary(plan(true))).toBe(
      'Dry run: rewinding dashboard_consumer_group to earliest gives 200 records (at least 65 keys) to process again.',
    )
    expect(planSummary(plan(false))).toMatch(
      /^Rewound dashboard_consumer_group to earliest at .*: 200 records .* by the group’s members\.$/,
    )
  })
})

describe('RewindCard', () => {
  let calls: Call[] = []
  let answer: (c: Call) => Response
  beforeEach(() => {
    answer = (c) => json(plan((c.body as { dry_run: boolean }).dry_run))
    calls = stubFetch((c) => (c.url === '/api/consumers/rewind/' ? answer(c) : json({ error: 'no' }, 404)))
  })
  const posts = () => calls.filter((c) => c.url === '/api/consumers/rewind/').map((c) => c.body)

  it('rewinds only after a dry run, with exactly what the dry run showed', async () => {
    const user = userEvent.setup()
    render(<RewindCard />)
    const rewind = screen.getByRole('button', { name: 'Rewind' })
    expect(rewind).toHaveProperty('disabled', true)
    await user.selectOptions(screen.getByLabelText('Rewind to'), 'earliest')
    await user.type(screen.getByLabelText('Partitions'), '0,2')
    await user.click(screen.getByRole('button', { name: 'Dry run' }))

    const table = await screen.findByRole('table', { name: 'Dry run partitions' })
    const rows = within(table).getAllByRole('row')
    expect(rows[1].textContent).toContain('120')
    expect(rows[1].textContent).toContain('pulse-1')
    expect(rows[2].textContent).toContain('at least 25')
    expect(screen.getByText(/^Dry run: .* 200 records \(at least 65 keys\)/)).toBeTruthy()
    expect(posts()).toEqual([{ to: 'earliest', partitions: [0, 2], dry_run: true }])

    await user.click(rewind)
    await screen.findByRole('table', { name: 'Rewound partitions' })
    expect(screen.getByText(/^Rewound dashboard_consumer_group/)).toBeTruthy()
    expect(posts()[1]).toEqual({ to: 'earliest', partitions: [0, 2], dry_run: false })
  })

  it('voids the dry run when the input changes, and shows refusals', async () => {
    const user = userEvent.setup()
    render(<RewindCard />)
    await user.selectOptions(screen.getByLabelText('Rewind to'), 'latest')
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    await screen.findByRole('table', { name: 'Dry run partitions' })
    await user.type(screen.getByLabelText('Partitions'), '1')
    await waitFor(() => expect(screen.queryByRole('table', { name: 'Dry run partitions' })).toBeNull())
    expect(screen.getByRole('button', { name: 'Rewind' })).toHaveProperty('disabled', true)

    answer = () => json({ error: 'to: 2099-01-01T00:00:00Z is in the future (now is 2026-12-04T14:00:00Z)' }, 400)
    await user.selectOptions(screen.getByLabelText('Rewind to'), 'time')
    const time = screen.getByLabelText('Time (RFC 3339)')
    await user.clear(time)
    await user.type(time, '2099-01-01T00:00:00Z')
    await user.click(screen.getByRole('button', { name: 'Dry run' }))
    expect(await screen.findByText(/is in the future/)).toBeTruthy()

    await user.clear(time)
    await user.type(time, 'soon')
    expect(screen.getByText(/^Time: an RFC 3339 time/)).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Dry run' })).toHaveProperty('disabled', true)
  })
})
