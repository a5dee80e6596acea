import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import { InteractiveActions } from '../components/InteractiveActions'
import { KeptProperties } from '../components/KeptProperties'
import { DLQView } from '../pages/DLQView'
import { LoadView } from '../pages/LoadView'
import { PlanPage } from '../pages/PlanPage'
import { json, stubFetch } from '../test/fetch'
import { render, screen } from '../test/render'
import { signedIn } from '../test/session'
import { allows } from './role'

const record = {
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
  payload: '{}',
  replayed: false,
  replayed_at: null,
}
const signup = { event_type: 'signup', description: '', schema: true, updated_at: '2026-12-02T10:00:00Z' }

beforeEach(() => {
  stubFetch(({ url }) => {
    if (url === '/api/load/') return json({ status: 'idle' })
    if (url === '/api/load/runs/') return json({ runs: [] })
    if (url.startsWith('/api/dlq/'))
      return json({ total: 1, groups: [{ kind: record.kind, count: 1, records: [record] }] })
    if (url === '/api/plan/') return json({ entries: [signup] })
    if (url === '/api/sources/') return json({ sources: [], tracker: { url_path: '/pulse.js', integrity: '' } })
    if (url.startsWith('/api/plan/warnings/')) return json({ warnings: [] })
    if (url === '/api/insights/rollup-keys/') return json({ keys: [], max: 10 })
    return json({ error: 'not here' }, 404)
  })
})

const viewer = signedIn('viewer')
const operator = signedIn('operator')
const VIEWER_WHY = 'Needs the operator role; you have viewer.'
const OPERATOR_WHY = 'Needs the admin role; you have operator.'

describe('role-aware actions', () => {
  it('ranks the roles; an unknown role leaves the answer to the server', () => {
    expect(allows('viewer', 'operator')).toBe(false)
    expect(allows('operator', 'operator')).toBe(true)
    expect(allows('admin', 'operator')).toBe(true)
    expect(allows('operator', 'admin')).toBe(false)
    expect(allows(null, 'admin')).toBe(true)
  })

  it('a viewer cannot start a load run, and is told which role can', async () => {
    render(<LoadView idlePollMs={60_000} />, { as: viewer })
    await screen.findByText('No load run yet.')
    const start = screen.getByRole('button', { name: 'Start' })
    expect(start).toHaveProperty('disabled', true)
    expect(start.getAttribute('title')).toBe(VIEWER_WHY)
    expect(screen.getByText(VIEWER_WHY)).toBeTruthy()
  })

  it('an operator can', async () => {
    render(<LoadView idlePollMs={60_000} />, { as: operator })
    await screen.findByText('No load run yet.')
    expect(screen.getByRole('button', { name: 'Start' })).toHaveProperty('disabled', false)
    expect(screen.queryByText(VIEWER_WHY)).toBeNull()
  })

  it('a viewer cannot replay dead letters, even as a dry run', async () => {
    const user = userEvent.setup()
    render(<DLQView pollMs={60_000} />, { as: viewer })
    await user.click(await screen.findByRole('checkbox', { name: 'Select group simulated failure' }))
    expect(screen.getByRole('button', { name: 'Dry run' })).toHaveProperty('disabled', true)
    expect(screen.getByText(VIEWER_WHY)).toBeTruthy()
  })

  it('a viewer cannot send events from the dashboard', () => {
    render(<InteractiveActions userId="user_ab12" sessionId="sess_1" />, { as: viewer })
    expect(screen.getByRole('button', { name: 'Button 1' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('button', { name: 'View Home' })).toHaveProperty('disabled', true)
    expect(screen.getByText(VIEWER_WHY)).toBeTruthy()
  })

  it('an operator cannot edit the tracking plan or keep a property: those are the admin’s', async () => {
    render(<PlanPage pollMs={60_000} />, { as: operator })
    await screen.findByRole('list', { name: 'Event types' })
    expect(screen.getByRole('button', { name: 'Save event type' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('button', { name: 'Remove signup…' })).toHaveProperty('disabled', true)
    expect(screen.getByText(OPERATOR_WHY)).toBeTruthy()

    render(<KeptProperties breakdown="properties.plan" />, { as: operator })
    await screen.findByText('No property is kept yet.')
    expect(screen.getByRole('button', { name: 'Keep' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('button', { name: 'Keep plan' })).toHaveProperty('disabled', true)
  })
})
