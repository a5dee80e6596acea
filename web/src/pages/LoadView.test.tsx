import { render, screen, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { LoadRun } from '../api/schema'
import { type Call, json, stubFetch } from '../test/fetch'
import { LoadView, validateLoad } from './LoadView'

function run(over: Partial<LoadRun> = {}): LoadRun {
  return {
    id: 'run-1234abcd',
    status: 'running',
    started_at: '2026-11-25T10:00:00Z',
    ends_at: '2026-11-25T10:00:03Z',
    events_per_second: 200,
    duration_seconds: 3,
    failure_rate: 0,
    delay_rate: 0,
    mix: { page_view: 40 },
    target: 600,
    sent: 300,
    acked: 290,
    failed: 0,
    progress: 0.4833,
    current_rate: 198.6,
    ...over,
  }
}

/** Answers GET /api/load/runs/ with runs, everything else with body(). */
function withRuns(body: (c: Call) => Response, runs: LoadRun[] = []) {
  return (c: Call) => (c.url === '/api/load/runs/' ? json({ runs }) : body(c))
}

describe('LoadView', () => {
  it('validates the form and sends nothing while it is wrong', async () => {
    const calls = stubFetch(withRuns(() => json({ status: 'idle' })))
    const user = userEvent.setup()
    render(<LoadView idlePollMs={60_000} />)
    await screen.findByText('No load run yet.')
    const rate = screen.getByLabelText('Events per second')
    await user.clear(rate)
    await user.type(rate, '0')
    await user.clear(screen.getByLabelText('Failure share (%)'))
    await user.type(screen.getByLabelText('Failure share (%)'), '150')
    for (const t of ['page_view', 'button_click', 'form_submit', 'user_login', 'api_call']) {
      await user.clear(screen.getByLabelText(t))
    }
    await user.click(screen.getByRole('button', { name: 'Start' }))
    expect(rate.getAttribute('aria-invalid')).toBe('true')
    expect(screen.getByText('A whole number from 1 to 50000.')).toBeTruthy()
    expect(screen.getByText('A percentage from 0 to 100.')).toBeTruthy()
    expect(screen.getByText(/must be a number/)).toBeTruthy()
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)
  })

  it('starts a run with the form values and shows its progress', async () => {
    let state: unknown = { status: 'idle' }
    const calls = stubFetch(
      withRuns((c) => {
        if (c.method === 'POST') {
          state = run()
          return json(run({ sent: 0, acked: 0, progress: 0, current_rate: 0 }), 201)
        }
        return json(state)
      }),
    )
    const user = userEvent.setup()
    render(<LoadView runningPollMs={60_000} idlePollMs={60_000} />)
    await screen.findByText('No load run yet.')
    await user.clear(screen.getByLabelText('Events per second'))
    await user.type(screen.getByLabelText('Events per second'), '200')
    await user.clear(screen.getByLabelText('Duration (s)'))
    await user.type(screen.getByLabelText('Duration (s)'), '3')
    await user.clear(screen.getByLabelText('Delay share (%)'))
    await user.type(screen.getByLabelText('Delay share (%)'), '10')
    await user.clear(screen.getByLabelText('user_login'))
    await user.type(screen.getByLabelText('user_login'), '0')
    await user.click(screen.getByRole('button', { name: 'Start' }))
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.url).toBe('/api/load/')
    expect(post?.body).toEqual({
      events_per_second: 200,
      duration_seconds: 3,
      failure_rate: 0,
      delay_rate: 0.1,
      mix: { page_view: 40, button_click: 35, form_submit: 12, api_call: 8 },
    })
    const bar = await screen.findByRole('progressbar')
    await screen.findByText('199 events/s')
    expect(bar.getAttribute('aria-valuenow')).toBe('48')
    expect(bar.getAttribute('aria-valuemin')).toBe('0')
    expect(bar.getAttribute('aria-valuemax')).toBe('100')
    expect(screen.getByLabelText('Load run').textContent).toContain('Acked290')
    expect(screen.getByRole('button', { name: 'Start' })).toHaveProperty('disabled', true)
    expect(screen.getByRole('button', { name: 'Stop' })).toHaveProperty('disabled', false)
  })

  it('stops a run', async () => {
    let state: unknown = run()
    const calls = stubFetch(
      withRuns((c) => {
        if (c.method === 'DELETE') state = run({ status: 'stopped', progress: 0.5, ended_at: '2026-11-25T10:00:01.5Z' })
        return json(state)
      }),
    )
    const user = userEvent.setup()
    render(<LoadView runningPollMs={60_000} idlePollMs={60_000} />)
    await user.click(await screen.findByRole('button', { name: 'Stop' }))
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/load/')).toBe(true)
    await screen.findByText('Stopped')
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50')
  })

  it('reads a stopped run as stopped, ended when it stopped, and lists past runs', async () => {
    const stopped = run({
      status: 'stopped',
      progress: 0.5,
      sent: 300,
      acked: 300,
      ended_at: '2026-11-25T10:00:01.5Z',
    })
    const older = run({
      id: 'run-older000',
      status: 'completed',
      started_at: '2026-11-25T09:00:00Z',
      ends_at: '2026-11-25T09:00:03Z',
      ended_at: '2026-11-25T09:00:03.2Z',
      sent: 600,
      acked: 598,
      failed: 2,
      progress: 1,
      error: 'produce to events: broker gone',
    })
    stubFetch(withRuns(() => json(stopped), [stopped, older]))
    render(<LoadView runningPollMs={60_000} idlePollMs={60_000} />)
    const dl = await screen.findByLabelText('Load run')
    expect(dl.textContent).toContain('StatusStopped')
    expect(dl.textContent).toContain('Failed0')
    // The end is when it stopped, not the planned end.
    expect(dl.textContent).toContain('Ended')
    expect(dl.textContent).not.toContain('Ends')
    expect(screen.queryByRole('alert')).toBeNull()

    const table = await screen.findByRole('table', { name: 'Past load runs' })
    const rows = within(table).getAllByRole('row').slice(1)
    expect(
      rows.map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent),
      ),
    ).toEqual([
      ['Stopped', expect.any(String), '1.50s', '200 events/s', '300', '0'],
      ['Completed', expect.any(String), '3.20s', '200 events/s', '600', '2'],
    ])
    expect(screen.getByText(/restart forgets them/)).toBeTruthy()
  })

  it('tells a completed run with failed sends from a failed run', async () => {
    stubFetch(withRuns(() => json(run({ status: 'completed', failed: 2, error: 'broker gone', progress: 1 }))))
    render(<LoadView runningPollMs={60_000} idlePollMs={60_000} />)
    expect((await screen.findByRole('alert')).textContent).toBe('2 sends failed, the first with: broker gone')
  })

  it('says a run is already going on 409', async () => {
    stubFetch(
      withRuns((c) => (c.method === 'POST' ? json({ error: 'a load run is running' }, 409) : json({ status: 'idle' }))),
    )
    const user = userEvent.setup()
    render(<LoadView idlePollMs={60_000} />)
    await screen.findByText('No load run yet.')
    await user.click(screen.getByRole('button', { name: 'Start' }))
    expect((await screen.findByRole('alert')).textContent).toContain('A load run is already going')
  })

  it('turns percentages into shares and drops zero weights', () => {
    const v = validateLoad({
      rate: '50',
      duration: '1',
      failure: '2.5',
      delay: '0',
      mix: { page_view: '1', button_click: '0', form_submit: '0', user_login: '0', api_call: '0' },
    })
    expect(v).toEqual({
      req: { events_per_second: 50, duration_seconds: 1, failure_rate: 0.025, delay_rate: 0, mix: { page_view: 1 } },
    })
  })
})
