import { act, renderHook } from '../test/render'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ServerMessage } from '../api/ws'
import { message, stats, storedEvent } from '../test/fixtures'
import { backoffDelay, useLiveFeed, type WebSocketLike } from './useLiveFeed'

// FakeSocket stands in for the browser WebSocket: the test drives its
// lifecycle (open, frames, close) the way a server would.
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = []
  onopen: ((ev: Event) => void) | null = null
  onmessage: ((ev: MessageEvent) => void) | null = null
  onclose: ((ev: CloseEvent) => void) | null = null
  onerror: ((ev: Event) => void) | null = null
  readyState = 0
  sent: string[] = []
  closed = false
  readonly url: string

  constructor(url: string) {
    this.url = url
    FakeSocket.all.push(this)
  }
  send(data: string) {
    this.sent.push(data)
  }
  close() {
    this.closed = true
    this.readyState = 3
  }
  open() {
    act(() => {
      this.readyState = 1
      this.onopen?.(new Event('open'))
    })
  }
  receive(frame: ServerMessage | string) {
    act(() => {
      this.onmessage?.(new MessageEvent('message', { data: typeof frame === 'string' ? frame : JSON.stringify(frame) }))
    })
  }
  drop(code = 1006) {
    act(() => {
      this.readyState = 3
      this.onclose?.(new CloseEvent('close', { code }))
    })
  }
}

const latest = () => FakeSocket.all[FakeSocket.all.length - 1]
const advance = (ms: number) =>
  act(() => {
    vi.advanceTimersByTime(ms)
  })

function mount(onSignInAgain?: () => Promise<unknown>) {
  return renderHook(() =>
    useLiveFeed({
      url: 'ws://test/ws/events/',
      WebSocketImpl: FakeSocket,
      flushIntervalMs: 250,
      backoff: { baseMs: 1000, maxMs: 8000 },
      random: () => 1,
      statsRequestMs: 1000,
      onSignInAgain,
    }),
  )
}

describe('useLiveFeed', () => {
  beforeEach(() => {
    FakeSocket.all = []
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('connects, resyncs from initial_data and batches updates', () => {
    const { result } = mount()
    expect(result.current.connection).toBe('reconnecting')
    expect(result.current.everConnected).toBe(false)
    const ws = latest()
    expect(ws.url).toBe('ws://test/ws/events/')
    ws.open()
    expect(result.current.connection).toBe('connected')

    ws.receive({
      type: 'initial_data',
      events: [storedEvent({ id: 1 })],
      stats: stats({ total_events: 1 }),
      messages: [],
    })
    advance(0)
    expect(result.current.events.map((e) => e.id)).toEqual([1])
    expect(result.current.stats?.total_events).toBe(1)

    // Within the flush interval, frames wait and land together.
    ws.receive({ type: 'new_event', event: storedEvent({ id: 2 }) })
    ws.receive({ type: 'new_event', event: storedEvent({ id: 3 }) })
    ws.receive({ type: 'queue_update', messages: [message({ status: 'processing' })] })
    expect(result.current.events).toHaveLength(1)
    advance(249)
    expect(result.current.events).toHaveLength(1)
    advance(1)
    expect(result.current.events.map((e) => e.id)).toEqual([3, 2, 1])
    expect([...result.current.messages.values()].map((m) => m.status)).toEqual(['processing'])
  })

  it('counts what the server sampled away and ignores malformed frames', () => {
    const { result } = mount()
    const ws = latest()
    ws.open()
    ws.receive({ type: 'new_events', events: [storedEvent({ id: 7 })], dropped: 41 })
    ws.receive('{"type":"new_event","event":{"id":"x"}}')
    ws.receive('not json')
    advance(250)
    expect(result.current.events.map((e) => e.id)).toEqual([7])
    expect(result.current.notShown).toBe(41)
    expect(result.current.invalidFrames).toBe(2)
  })

  it('asks for stats when events arrive without fresh totals', () => {
    mount()
    const ws = latest()
    ws.open()
    ws.receive({ type: 'new_event', event: storedEvent() })
    advance(250)
    expect(ws.sent).toEqual([])
    advance(1000)
    expect(ws.sent).toEqual([JSON.stringify({ type: 'get_stats' })])
  })

  it('reconnects with capped exponential backoff and resyncs', () => {
    const { result } = mount()
    const first = latest()
    first.open()
    first.receive({ type: 'initial_data', events: [storedEvent({ id: 1 })], stats: stats(), messages: [] })
    advance(250)

    first.drop()
    expect(result.current.connection).toBe('reconnecting')
    expect(result.current.everConnected).toBe(true)
    expect(result.current.retryAt).toBe(Date.now() + 1000)
    advance(999)
    expect(FakeSocket.all).toHaveLength(1)
    advance(1)
    expect(FakeSocket.all).toHaveLength(2)

    // Attempts that fail before opening wait twice as long each time, up to the cap.
    const waits: number[] = []
    for (let i = 0; i < 4; i++) {
      latest().drop()
      waits.push((result.current.retryAt ?? 0) - Date.now())
      advance(waits[i])
    }
    expect(waits).toEqual([2000, 4000, 8000, 8000])

    // Success resets the backoff, and initial_data replaces the old state.
    const again = latest()
    again.open()
    expect(result.current.connection).toBe('connected')
    again.receive({
      type: 'initial_data',
      events: [storedEvent({ id: 9 })],
      stats: stats({ total_events: 9 }),
      messages: [],
    })
    advance(250)
    expect(result.current.events.map((e) => e.id)).toEqual([9])
    expect(result.current.resyncs).toBe(2)
    again.drop()
    expect((result.current.retryAt ?? 0) - Date.now()).toBe(1000)
  })

  it('closed with 4401 (sign in again), asks whether it still may before it reconnects', async () => {
    let settle: () => void = () => {}
    const asked = vi.fn(() => new Promise<void>((resolve) => (settle = resolve)))
    const { result } = mount(asked)
    latest().open()
    latest().drop(4401)
    expect(asked).toHaveBeenCalledTimes(1)
    expect(result.current.connection).toBe('reconnecting')
    advance(60_000)
    expect(FakeSocket.all).toHaveLength(1)
    await act(() => {
      settle()
      return Promise.resolve()
    })
    advance(1000)
    expect(FakeSocket.all).toHaveLength(2)
    // Another close is an outage, not a question.
    latest().drop(1006)
    expect(asked).toHaveBeenCalledTimes(1)
  })

  it('says since when the data is stale, until a resync replaces it', () => {
    const { result } = mount()
    const first = latest()
    expect(result.current.staleSince).toBeNull()
    first.drop()
    // Nothing was shown yet, so nothing is stale.
    expect(result.current.staleSince).toBeNull()
    advance(1000)
    latest().open()
    latest().receive({ type: 'initial_data', events: [], stats: stats(), messages: [] })
    advance(250)

    const droppedAt = Date.now()
    latest().drop()
    expect(result.current.staleSince).toBe(droppedAt)
    advance(1000)
    latest().drop()
    expect(result.current.staleSince).toBe(droppedAt)
    advance(2000)
    const again = latest()
    again.open()
    expect(result.current.connection).toBe('connected')
    expect(result.current.staleSince).toBe(droppedAt)
    again.receive({ type: 'initial_data', events: [], stats: stats(), messages: [] })
    advance(250)
    expect(result.current.staleSince).toBeNull()
  })

  it('goes offline with the browser and reconnects when it is back', () => {
    const { result } = mount()
    latest().open()
    const online = vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false)
    act(() => {
      window.dispatchEvent(new Event('offline'))
    })
    expect(result.current.connection).toBe('connected')
    latest().drop()
    expect(result.current.connection).toBe('offline')
    advance(60_000)
    expect(FakeSocket.all).toHaveLength(1)

    online.mockReturnValue(true)
    act(() => {
      window.dispatchEvent(new Event('online'))
    })
    expect(FakeSocket.all).toHaveLength(2)
    latest().open()
    expect(result.current.connection).toBe('connected')
  })

  it('closes the socket on unmount', () => {
    const { unmount } = mount()
    const ws = latest()
    ws.open()
    unmount()
    expect(ws.closed).toBe(true)
    advance(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })

  it('closes a socket still connecting at unmount once it opens', () => {
    const { unmount } = mount()
    const ws = latest()
    unmount()
    expect(ws.closed).toBe(false)
    ws.open()
    expect(ws.closed).toBe(true)
  })
})

describe('backoffDelay', () => {
  it('jitters between half and all of the capped exponential', () => {
    const b = { baseMs: 500, maxMs: 30_000 }
    expect(backoffDelay(0, b, () => 0)).toBe(250)
    expect(backoffDelay(0, b, () => 1)).toBe(500)
    expect(backoffDelay(3, b, () => 0.5)).toBe(3000)
    expect(backoffDelay(40, b, () => 1)).toBe(30_000)
  })
})
