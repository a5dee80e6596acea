import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AlertEvent, AlertRule } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { signedIn } from '../test/session'
import { AlertsPage, describeRule, shortDuration } from './AlertsPage'

const at = '2026-12-04T10:00:00Z'
const lag: AlertRule = {
  id: 'alr_1',
  name: 'Lag',
  signal: 'lag_seconds',
  op: 'above',
  threshold: 5,
  for: '1m0s',
  hysteresis: 1,
  repeat: '1h0m0s',
  webhook_url: 'https://hooks.example.com/pulse',
  webhook_format: 'json',
  enabled: true,
  source: 'api',
  state: 'firing',
  since: at,
  value: 7.25,
  silenced_until: null,
  created_at: at,
  updated_at: at,
}
const signups: AlertRule = {
  ...lag,
  id: 'signups',
  name: 'Signups fell',
  signal: 'event_count',
  event_type: 'signup',
  compare: 'previous_period',
  window: '1h0m0s',
  op: 'below',
  threshold: 50,
  for: '0s',
  source: 'file',
  state: 'ok',
  since: null,
  value: null,
  silenced_until: '2026-12-04T12:00:00Z',
  created_at: null,
  updated_at: null,
}
const fired: AlertEvent = {
  id: 7,
  rule_id: 'alr_1',
  rule_name: 'Lag',
  kind: 'firing',
  at,
  value: 7.25,
  silenced: false,
  status: 'delivered',
  url: 'https://hooks.example.com/pulse',
  body: '{}',
  attempts: 2,
  next_attempt_at: null,
  deliveries: [
    { at, status_code: 503, error: '503 Service Unavailable: restarting', duration_ms: 3 },
    { at, status_code: 200, error: '', duration_ms: 2 },
  ],
}

let calls: Call[] = []

beforeEach(() => {
  calls = stubFetch(({ method, url, body }) => {
    if (url === '/api/alerts/rules/' && method === 'GET')
      return json({ rules: [signups, lag], signals: ['lag_seconds'], max: 200 })
    if (url === '/api/alerts/rules/' && method === 'POST') {
      const b = body as { threshold: number }
      if (b.threshold < 0) return json({ error: 'threshold: must be a number from 0 to 1e12' }, 400)
      return json({ rule: { ...lag, id: 'alr_2', ...(body as object) } }, 201)
    }
    if (url.endsWith('/silence/') && method === 'PUT') return json({ rule: { ...lag, silenced_until: at } })
    if (url.startsWith('/api/alerts/rules/alr_') && method === 'PUT')
      return json({ rule: { ...lag, ...(body as object) } })
    if (url.startsWith('/api/alerts/rules/alr_') && method === 'DELETE') return new Response(null, { status: 204 })
    if (url.startsWith('/api/alerts/history/') && url.includes('before=7'))
      return json({ events: [{ ...fired, id: 3, kind: 'resolved', attempts: 1, deliveries: [] }], next_before: null })
    if (url.startsWith('/api/alerts/history/')) return json({ events: [fired], next_before: 7 })
    return json({ error: 'no' }, 404)
  })
})

describe('AlertsPage', () => {
  it('lists the rules with their state and source, and the history with every delivery attempt', async () => {
    render(<AlertsPage />)
    const table = await screen.findByRole('table', { name: 'Alert rules' })
    const rows = within(table).getAllByRole('row').slice(1)
    expect(rows[0].textContent).toContain('Signups fell')
    expect(rows[0].textContent).toContain('rules file')
    expect(rows[0].textContent).toContain('silenced until')
    expect(rows[1].textContent).toContain('firing')
    expect(rows[1].textContent).toContain('7.25')
    // A rule of the file is silenced, not edited or deleted.
    expect(within(rows[0]).queryByRole('button', { name: 'Delete Signups fell' })).toBeNull()
    expect(within(rows[0]).getByRole('button', { name: 'Lift the silence of Signups fell' })).toBeTruthy()

    const history = await screen.findByRole('table', { name: 'Alert history' })
    const attempts = within(history).getByRole('list', { name: 'Delivery attempts of event 7' })
    expect(
      within(attempts)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual([expect.stringContaining('503 — 503 Service Unavailable: restarting'), expect.stringContaining(': 200')])
    expect(within(history).getByText('2 attempts')).toBeTruthy()

    // Older entries are a page away.
    await userEvent.setup().click(screen.getByRole('button', { name: 'Load older' }))
    await waitFor(() => expect(within(history).getAllByRole('row')).toHaveLength(3))
    expect(within(history).getAllByRole('row')[2].textContent).toContain('resolved')
    expect(calls.some((c) => c.url === '/api/alerts/history/?limit=50&before=7')).toBe(true)
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull()
  })

  it('adds a rule from the form, and says what the server refused, naming the field', async () => {
    const user = userEvent.setup()
    render(<AlertsPage />)
    const form = await screen.findByRole('form', { name: 'New alert rule' })
    await user.type(within(form).getByLabelText('Name'), 'Signups')
    await user.selectOptions(within(form).getByLabelText('Signal'), 'event_count')
    await user.type(within(form).getByLabelText('Event type'), 'signup')
    await user.selectOptions(within(form).getByLabelText('When'), 'below')
    const threshold = within(form).getByLabelText('Threshold')
    await user.clear(threshold)
    await user.type(threshold, 'lots')
    await user.click(within(form).getByRole('button', { name: 'Add rule' }))
    expect((await within(form).findByRole('alert')).textContent).toBe('threshold: must be a number from 0 to 1e12')

    await user.clear(threshold)
    await user.type(threshold, '10')
    await user.type(within(form).getByLabelText('Webhook URL'), 'https://hooks.example.com/x')
    await user.selectOptions(within(form).getByLabelText('Body'), 'slack')
    await user.click(within(form).getByRole('button', { name: 'Add rule' }))
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2))
    expect(calls.filter((c) => c.method === 'POST')[1].body).toEqual({
      name: 'Signups',
      signal: 'event_count',
      event_type: 'signup',
      page: '',
      compare: 'value',
      window: '5m',
      op: 'below',
      threshold: 10,
      for: '1m',
      hysteresis: 0,
      repeat: '1h',
      webhook_url: 'https://hooks.example.com/x',
      webhook_format: 'slack',
      enabled: true,
    })
    await waitFor(() => expect(within(form).getByLabelText<HTMLInputElement>('Name').value).toBe(''))
  })

  it('edits, silences and deletes a rule made here', async () => {
    const user = userEvent.setup()
    render(<AlertsPage />)
    await user.click(await screen.findByRole('button', { name: 'Edit Lag' }))
    const form = screen.getByRole('form', { name: 'Edit rule Lag' })
    expect(within(form).getByLabelText<HTMLInputElement>('For').value).toBe('1m')
    const threshold = within(form).getByLabelText('Threshold')
    await user.clear(threshold)
    await user.type(threshold, '9')
    await user.click(within(form).getByRole('button', { name: 'Save rule' }))
    await waitFor(() =>
      expect(calls.some((c) => c.method === 'PUT' && c.url === '/api/alerts/rules/alr_1/')).toBe(true),
    )
    expect(calls.find((c) => c.method === 'PUT')?.body).toMatchObject({ threshold: 9, for: '1m', repeat: '1h' })

    await user.click(screen.getByRole('button', { name: 'Silence Lag for 1 hour' }))
    await waitFor(() =>
      expect(calls.find((c) => c.url === '/api/alerts/rules/alr_1/silence/')?.body).toEqual({ for: '1h' }),
    )
    await user.click(screen.getByRole('button', { name: 'Delete Lag' }))
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    await user.click(screen.getByRole('button', { name: 'Confirm deleting Lag' }))
    await waitFor(() =>
      expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/alerts/rules/alr_1/')).toBe(true),
    )
  })

  it('lets a viewer read but not change the rules', async () => {
    render(<AlertsPage />, { as: signedIn('viewer') })
    expect(await screen.findByRole('button', { name: 'Edit Lag' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('button', { name: 'Silence Lag for 1 hour' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('button', { name: 'Add rule' })).toHaveProperty('disabled', true)
    expect(screen.getAllByText('Needs the operator role; you have viewer.').length).toBeGreaterThan(0)
  })
})

describe('describeRule', () => {
  it('says a rule in words', () => {
    expect(describeRule(lag)).toBe('Consumer lag (seconds) above 5 for 1m')
    expect(describeRule(signups)).toBe('Events of a type or page — signup over 1h below 50% of the window before')
    expect(shortDuration('1h30m0s')).toBe('1h30m')
    expect(shortDuration('0s')).toBe('0')
  })
})
