import { act, renderHook } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { usePolling } from './usePolling'

let hidden = false
Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })

function setHidden(v: boolean) {
  hidden = v
  document.dispatchEvent(new Event('visibilitychange'))
}

describe('usePolling', () => {
  afterEach(() => {
    hidden = false
    vi.useRealTimers()
  })

  it('polls on schedule, pauses while hidden, resumes when shown', async () => {
    vi.useFakeTimers()
    let n = 0
    const fetcher = vi.fn(async () => ++n)
    const { result } = renderHook(() => usePolling(fetcher, 1000))
    await act(async () => {})
    expect(result.current.data).toBe(1)
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000)
    })
    expect(result.current.data).toBe(2)

    setHidden(true)
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5000)
    })
    // The poll due while hidden found the tab hidden and fetched nothing.
    expect(fetcher).toHaveBeenCalledTimes(2)

    await act(async () => setHidden(false))
    expect(fetcher).toHaveBeenCalledTimes(3)
    expect(result.current.data).toBe(3)
  })

  it('keeps the last answer and reports the error when a poll fails', async () => {
    vi.useFakeTimers()
    let fail = false
    const fetcher = vi.fn(async () => {
      if (fail) throw new Error('503 unavailable')
      return 'ok'
    })
    const { result } = renderHook(() => usePolling(fetcher, 1000))
    await act(async () => {})
    fail = true
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000)
    })
    expect(result.current.data).toBe('ok')
    expect(result.current.error).toBe('503 unavailable')
  })

  it('stops and aborts the request in flight on unmount', async () => {
    vi.useFakeTimers()
    let signal: AbortSignal | undefined
    const fetcher = vi.fn((s: AbortSignal) => {
      signal = s
      return new Promise<number>(() => {})
    })
    const { unmount } = renderHook(() => usePolling(fetcher, 1000))
    await act(async () => {})
    unmount()
    expect(signal?.aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetcher).toHaveBeenCalledTimes(1)
  })
})
