import { afterEach, describe, expect, it, vi } from 'vitest'
import { act, renderHook } from '../test/render'
import { useOrdering, usePersonalFields } from './resources'

let hidden = false
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') })
Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })

const fakeTimers = () => vi.useFakeTimers()

// A fetch answering body with status. Its body is read in microtasks (a
// real Response takes turns of the event loop the fake clock does not run).
function stubFetch(answer: () => [unknown, number?]): unknown[] {
  const calls: unknown[] = []
  vi.stubGlobal('fetch', (input: RequestInfo | URL) => {
    calls.push(input)
    const [body, status = 200] = answer()
    return Promise.resolve({
      ok: status < 400,
      status,
      statusText: '',
      text: () => Promise.resolve(JSON.stringify(body)),
    })
  })
  return calls
}
const json = (body: unknown, status?: number): [unknown, number?] => [body, status]

// advance moves the fake clock by ms, and a little further for the answers
// that arrive meanwhile to reach React (TanStack Query batches its
// notifications in a timeout).
async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms)
    await vi.advanceTimersByTimeAsync(10)
  })
}

function setHidden(v: boolean) {
  hidden = v
  // Browsers fire it on the document; it bubbles to the window.
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }))
}

const ordering = (total: number) => ({ held_keys: null, held_keys_total: total, partitions: null })

describe('polled console resources', () => {
  afterEach(() => {
    hidden = false
    vi.useRealTimers()
  })

  it('poll on schedule, pause while hidden, resume when shown', async () => {
    fakeTimers()
    let n = 0
    const calls = stubFetch(() => json(ordering(++n)))
    const { result } = renderHook(() => useOrdering(1000))
    await advance(0)
    expect(result.current.data?.held_keys_total).toBe(1)
    await advance(1000)
    expect(result.current.data?.held_keys_total).toBe(2)

    act(() => setHidden(true))
    await advance(5000)
    // The polls due while hidden found the tab hidden and fetched nothing.
    expect(calls).toHaveLength(2)

    act(() => setHidden(false))
    await advance(0)
    expect(calls).toHaveLength(3)
    expect(result.current.data?.held_keys_total).toBe(3)
  })

  it('keep the last answer and report the error when a poll fails', async () => {
    fakeTimers()
    let fail = false
    stubFetch(() => (fail ? json({ error: 'unavailable' }, 503) : json(ordering(1))))
    const { result } = renderHook(() => useOrdering(1000))
    await advance(0)
    fail = true
    await advance(1000)
    expect(result.current.data?.held_keys_total).toBe(1)
    expect(result.current.error).toBe('unavailable')
  })

  it('stop and abort the request in flight on unmount', async () => {
    fakeTimers()
    let signal: AbortSignal | undefined
    const fetch = vi.fn((_input: RequestInfo | URL, init?: RequestInit) => {
      signal = init?.signal ?? undefined
      return new Promise<Response>(() => {})
    })
    vi.stubGlobal('fetch', fetch)
    const { unmount } = renderHook(() => useOrdering(1000))
    await advance(0)
    unmount()
    expect(signal?.aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})

describe('usePersonalFields', () => {
  afterEach(() => vi.useRealTimers())

  it('reads the personal fields and whether this reader sees them masked', async () => {
    fakeTimers()
    const calls = stubFetch(() => json({ fields: ['session_id', 'user_id'], masked: true }))
    const { result } = renderHook(() => usePersonalFields())
    await advance(0)
    expect(calls).toEqual(['/api/privacy/fields/'])
    expect(result.current).toEqual({ data: { fields: ['session_id', 'user_id'], masked: true }, error: null })
  })
})
