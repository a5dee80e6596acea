import { render, screen, waitFor, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { Message } from '../api/schema'
import { messageKey } from '../live/feed'
import { message } from '../test/fixtures'
import { urlOf } from '../test/fetch'
import { QueueMonitor } from './QueueMonitor'

const stored: Message[] = [
  message({
    id: 3,
    offset: 3,
    status: 'completed',
    source: 'api',
    element_id: 'button_1',
    completed_at: '2026-11-25T10:00:01Z',
    duration_ms: 30,
  }),
  message({
    id: 2,
    offset: 2,
    status: 'dead_lettered',
    source: 'kafka',
    element_id: 'button_5',
    retries: 3,
    error: 'simulated failure',
  }),
  message({
    id: 1,
    offset: 1,
    status: 'completed',
    source: 'producer',
    element_id: 'load_1',
    completed_at: '2026-11-25T10:00:01Z',
  }),
]

// Answers GET /api/queue/messages/ the way the server does: filtered by the
// query, and remembers each URL asked for.
function stubServer() {
  const urls: string[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn((input: RequestInfo | URL) => {
      const url = new URL(urlOf(input), 'http://localhost')
      urls.push(url.pathname + url.search)
      const status = url.searchParams.get('status')
      const source = url.searchParams.get('source')
      const messages = stored.filter((m) => (!status || m.status === status) && (!source || m.source === source))
      return Promise.resolve(new Response(JSON.stringify({ messages, count: messages.length }), { status: 200 }))
    }),
  )
  return urls
}

const rows = () => within(screen.getByRole('list', { name: 'Queue messages' })).getAllByRole('listitem')
const elements = () => rows().map((r) => /Element: (\S+)/.exec(r.textContent ?? '')?.[1])

describe('QueueMonitor', () => {
  beforeEach(() => vi.unstubAllGlobals())

  it('loads the log and filters by status and source', async () => {
    const urls = stubServer()
    render(<QueueMonitor live={new Map()} resyncs={0} />)
    await waitFor(() => expect(elements()).toEqual(['button_1', 'button_5', 'load_1']))
    expect(urls).toEqual(['/api/queue/messages/?limit=50'])
    expect(rows()[1].textContent).toContain('Error: simulated failure')

    await userEvent.selectOptions(screen.getByLabelText('Status Filter'), 'dead_lettered')
    await waitFor(() => expect(elements()).toEqual(['button_5']))
    expect(urls.at(-1)).toBe('/api/queue/messages/?status=dead_lettered&limit=50')

    await userEvent.selectOptions(screen.getByLabelText('Status Filter'), '')
    await userEvent.selectOptions(screen.getByLabelText('Source Filter'), 'producer')
    await waitFor(() => expect(elements()).toEqual(['load_1']))
    expect(urls.at(-1)).toBe('/api/queue/messages/?source=producer&limit=50')
    // The filters are the URL's: a link or a reload shows the same messages.
    expect(window.location.hash).toBe('#/?source=producer')
  })

  it('is one tab stop: arrows move the active message, Enter opens its timeline', async () => {
    stubServer()
    const opened: string[] = []
    render(
      <>
        <QueueMonitor live={new Map()} resyncs={0} onOpenTimeline={(id) => opened.push(id)} />
        <button type="button">after</button>
      </>,
    )
    await waitFor(() => expect(elements()).toEqual(['button_1', 'button_5', 'load_1']))
    const list = screen.getByRole('group', { name: 'Queue messages, in flight first' })
    list.focus()
    const user = userEvent.setup()
    await user.tab()
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'after' }))
    list.focus()
    await user.keyboard('{ArrowDown}{Enter}')
    const active = document.getElementById(list.getAttribute('aria-activedescendant') ?? '')
    expect(active?.textContent).toContain('Element: button_5')
    expect(opened).toEqual([stored.find((m) => m.element_id === 'button_5')?.event_id])
  })

  it('starts from the filters in the URL', async () => {
    window.history.replaceState(null, '', '/#/?status=dead_lettered')
    const urls = stubServer()
    render(<QueueMonitor live={new Map()} resyncs={0} />)
    await waitFor(() => expect(elements()).toEqual(['button_5']))
    expect(urls).toEqual(['/api/queue/messages/?status=dead_lettered&limit=50'])
    expect(screen.getByLabelText<HTMLSelectElement>('Status Filter').value).toBe('dead_lettered')
  })

  it('puts live in-flight messages first and applies the filter to them', async () => {
    stubServer()
    const retrying = {
      ...message({ offset: 9, status: 'retrying', element_id: 'button_5b', retries: 1, error: 'attempt 1 failed' }),
      seen: ['processing', 'retrying'] as const,
    }
    const live = new Map([[messageKey(retrying), retrying]])
    const { rerender } = render(<QueueMonitor live={live} resyncs={0} />)
    await waitFor(() => expect(elements()).toEqual(['button_5b', 'button_1', 'button_5', 'load_1']))
    expect(rows()[0].textContent).toContain('retrying')

    await userEvent.selectOptions(screen.getByLabelText('Status Filter'), 'dead_lettered')
    await waitFor(() => expect(elements()).toEqual(['button_5']))

    // The retrying message ends dead-lettered: now it matches the filter.
    const dead = {
      ...retrying,
      id: 10,
      status: 'dead_lettered' as const,
      retries: 3,
      seen: [...retrying.seen, 'dead_lettered' as const],
    }
    rerender(<QueueMonitor live={new Map([[messageKey(dead), dead]])} resyncs={0} />)
    await waitFor(() => expect(elements()).toEqual(['button_5b', 'button_5']))
    expect(rows()[0].textContent).toContain('Seen live: processing → retrying → dead_lettered')
  })

  it('shows a message waiting behind a held key, and the counts per status', async () => {
    stubServer()
    const waiting = {
      ...message({
        offset: 12,
        status: 'queued',
        element_id: 'button_1',
        event_id: 'ev-b1',
        waiting_behind: {
          key: 'user_ab12',
          event_id: 'ev-b4',
          event_type: 'button_click',
          element_id: 'button_4',
          position: 1,
        },
      }),
      seen: ['queued'] as const,
    }
    const counts = {
      total: 9,
      queued: 1,
      processing: 1,
      retrying: 0,
      completed: 6,
      failed: 0,
      dead_lettered: 1,
      avg_processing_time_ms: 3,
    }
    render(<QueueMonitor live={new Map([[messageKey(waiting), waiting]])} resyncs={0} counts={counts} />)
    await waitFor(() => expect(elements()[0]).toBe('button_1'))
    expect(rows()[0].textContent).toContain(
      'Waiting behind button_4 (button click) on key user_ab12, 1st in line: records of one key are processed in order.',
    )
    expect(screen.getByLabelText('Messages per status').textContent).toBe(
      'queued1processing1retrying0completed6failed0dead lettered1',
    )
  })

  it('reads a dead-lettered row as dead-lettered, timed from its first attempt', async () => {
    const dead = message({
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
    })
    vi.stubGlobal(
      'fetch',
      vi.fn(() => Promise.resolve(new Response(JSON.stringify({ messages: [dead], count: 1 }), { status: 200 }))),
    )
    render(<QueueMonitor live={new Map()} resyncs={0} />)
    await waitFor(() => expect(rows()).toHaveLength(1))
    const facts = Object.fromEntries(
      within(rows()[0])
        .getAllByRole('term')
        .map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
    )
    expect(Object.keys(facts)).toEqual(['Queued', 'Processing', 'Dead-lettered', 'Duration', 'Retries'])
    expect(facts.Duration).toBe('601ms')
    expect(facts.Processing).toBe(
      new Date('2026-11-25T10:00:00.000Z').toLocaleTimeString([], {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }),
    )
  })

  it("shows the server's error when the log cannot be loaded", async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() => Promise.resolve(new Response(JSON.stringify({ error: 'unknown status "x"' }), { status: 400 }))),
    )
    render(<QueueMonitor live={new Map()} resyncs={0} />)
    expect((await screen.findByRole('alert')).textContent).toContain('unknown status "x"')
  })
})
