import { render, screen, waitFor, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it } from 'vitest'
import { message, storedEvent } from '../test/fixtures'
import { json, stubFetch } from '../test/fetch'
import { TimelineDialog } from './TimelineDialog'

const timeline = {
  message: message({
    event_id: 'ev-5',
    element_id: 'button_5',
    status: 'dead_lettered',
    partition: 2,
    offset: 41,
    retries: 3,
    error: 'simulated failure',
    completed_at: '2026-11-25T10:00:03.500Z',
  }),
  event: storedEvent({ event_id: 'ev-5', element_id: 'button_5' }),
  stages: [
    { stage: 'produced', at: '2026-11-25T10:00:00.000Z' },
    { stage: 'fetched', at: '2026-11-25T10:00:00.010Z' },
    { stage: 'started', at: '2026-11-25T10:00:00.011Z' },
    { stage: 'attempt_failed', at: '2026-11-25T10:00:00.020Z', detail: 'attempt 1: simulated failure' },
    { stage: 'retry_scheduled', at: '2026-11-25T10:00:00.020Z', detail: 'next attempt at 10:00:00.520' },
    { stage: 'dead_lettered', at: '2026-11-25T10:00:03.500Z', detail: 'user_events.dlq/0/4' },
  ],
}

function Opener() {
  const [open, setOpen] = useState(false)
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Open
      </button>
      {open && <TimelineDialog eventId="ev-5" onClose={() => setOpen(false)} />}
    </>
  )
}

describe('TimelineDialog', () => {
  it('renders the stages in order with partition, offset and outcome', async () => {
    const calls = stubFetch(() => json(timeline))
    render(<TimelineDialog eventId="ev-5" onClose={() => {}} />)
    const dialog = screen.getByRole('dialog', { name: 'Message timeline' })
    const stages = await within(dialog).findByRole('list', { name: 'Stages' })
    expect(calls[0].url).toBe('/api/messages/ev-5/')
    const items = within(stages).getAllByRole('listitem')
    expect(items.map((i) => i.textContent?.split('+')[0])).toEqual([
      'Produced',
      'Fetched',
      'Started',
      'Attempt failed',
      'Next attempt due',
      'Dead-lettered',
    ])
    // Each stage says how long after the record was produced it came.
    expect(items[1].textContent).toContain('+10ms')
    expect(items[5].textContent).toContain('+3.50s')
    expect(items[3].textContent).toContain('attempt 1: simulated failure')
    expect(items[4].textContent).toContain('next attempt at 10:00:00.520')
    expect(items[0].querySelector('time')?.textContent).toMatch(/\.000$/)
    const facts = within(dialog).getByLabelText('Message').textContent
    expect(facts).toContain('OutcomeDead-lettered')
    // From the first attempt (the fixture's started_at, 10:00:00.005) to the dead-lettering at 10:00:03.500.
    expect(facts).toContain('Duration3.50s')
    expect(facts).toContain('Partition2')
    expect(facts).toContain('Offset41')
    expect(facts).toContain('Retries3')
    expect(dialog.textContent).toContain('Error: simulated failure')
  })

  it('times a dead-lettered message from its first attempt, not its last', async () => {
    stubFetch(() =>
      json({
        ...timeline,
        message: message({
          event_id: 'ev-5',
          element_id: 'button_5',
          status: 'dead_lettered',
          retries: 3,
          error: 'simulated failure',
          // The final attempt started at .600 and took 1 ms; the first started at .000.
          started_at: '2026-11-25T10:00:00.600Z',
          completed_at: '2026-11-25T10:00:00.601Z',
          duration_ms: 1,
          attempts: [
            {
              n: 1,
              started_at: '2026-11-25T10:00:00.000Z',
              ended_at: '2026-11-25T10:00:00.000Z',
              error: 'simulated failure',
              next_retry_at: '2026-11-25T10:00:00.100Z',
            },
            {
              n: 2,
              started_at: '2026-11-25T10:00:00.100Z',
              ended_at: '2026-11-25T10:00:00.100Z',
              error: 'simulated failure',
              next_retry_at: '2026-11-25T10:00:00.300Z',
            },
            {
              n: 3,
              started_at: '2026-11-25T10:00:00.300Z',
              ended_at: '2026-11-25T10:00:00.300Z',
              error: 'simulated failure',
              next_retry_at: '2026-11-25T10:00:00.600Z',
            },
            {
              n: 4,
              started_at: '2026-11-25T10:00:00.600Z',
              ended_at: '2026-11-25T10:00:00.601Z',
              error: 'simulated failure',
            },
          ],
        }),
      }),
    )
    render(<TimelineDialog eventId="ev-5" onClose={() => {}} />)
    const facts = (await screen.findByLabelText('Message')).textContent
    expect(facts).toContain('OutcomeDead-lettered')
    expect(facts).toContain('Duration601ms')
    expect(facts).toContain('Last attempt1ms')
  })

  it('shows the server error for an unknown message', async () => {
    stubFetch(() => json({ error: 'no message with event_id nope' }, 404))
    render(<TimelineDialog eventId="nope" onClose={() => {}} />)
    expect((await screen.findByRole('alert')).textContent).toContain('no message with event_id nope')
  })

  it('traps focus, closes on Esc and gives focus back to the opener', async () => {
    stubFetch(() => json(timeline))
    const user = userEvent.setup()
    render(<Opener />)
    const opener = screen.getByRole('button', { name: 'Open' })
    await user.click(opener)
    const dialog = screen.getByRole('dialog')
    await within(dialog).findByRole('list', { name: 'Stages' })
    const close = within(dialog).getByRole('button', { name: 'Close' })
    expect(document.activeElement).toBe(close)
    await user.tab()
    expect(dialog.contains(document.activeElement)).toBe(true)
    await user.tab({ shift: true })
    await user.tab({ shift: true })
    expect(dialog.contains(document.activeElement)).toBe(true)
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).toBeNull()
    expect(document.activeElement).toBe(opener)
  })

  it('shows the event itself: its message, page and properties', async () => {
    stubFetch(() =>
      json({
        ...timeline,
        message: { ...timeline.message, status: 'completed' },
        event: storedEvent({
          event_id: 'ev-5',
          message: 'hello <b>there</b>',
          page: '/checkout',
          session_id: 'sess_1',
          properties: { plan: 'pro', seats: 3 },
        }),
      }),
    )
    render(<TimelineDialog eventId="ev-5" onClose={() => {}} />)
    const ev = await screen.findByRole('region', { name: 'Event' })
    expect(ev.textContent).toContain('hello <b>there</b>')
    expect(ev.textContent).toContain('Page/checkout')
    expect(ev.textContent).toContain('Sessionsess_1')
    expect(ev.textContent).toContain('"seats": 3')
  })

  it('follows a message in flight until it finishes, then stops asking', async () => {
    const states = ['retrying', 'retrying', 'dead_lettered']
    const calls = stubFetch(() => {
      const status = states[Math.min(calls.length - 1, states.length - 1)]
      return json({ ...timeline, event: null, message: { ...timeline.message, status } })
    })
    render(<TimelineDialog eventId="ev-5" onClose={() => {}} pollMs={20} />)
    const facts = await screen.findByLabelText('Message')
    expect(facts.textContent).toContain('OutcomeRetrying')
    await waitFor(() => expect(screen.getByLabelText('Message').textContent).toContain('OutcomeDead-lettered'))
    expect(
      screen.getByText(/The event was not stored: its record, payload included, is in the dead-letter topic/),
    ).toBeTruthy()
    const asked = calls.length
    await new Promise((r) => setTimeout(r, 150))
    expect(calls.length, 'requests after the message finished').toBe(asked)
  })
})
