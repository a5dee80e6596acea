// usePolling fetches a resource now and then every intervalMs while the tab
// is visible, keeping the last good answer when a poll fails. Each resource
// of the console has its own small hook on top of it.

import { useCallback, useEffect, useRef, useState } from 'react'
import {
  getConsumers,
  getConsumersHistory,
  getDLQ,
  getLoad,
  getOrdering,
} from '../api/client'
import type { ConsumersHistory, ConsumersView, DLQView, LoadState, OrderingView } from '../api/schema'

/** The state of a polled resource. */
export interface Polled<T> {
  data: T | null
  error: string | null
  /** Fetches now, outside the schedule (after an action changed the resource). */
  refresh: () => void
}

type Fetcher<T> = (signal: AbortSignal) => Promise<T>

/**
 * Polls fetcher every intervalMs (0: once) while enabled and the document is
 * visible. A hidden tab polls again as soon as it is shown. The fetcher may
 * change between renders; the newest one is used.
 */
export function usePolling<T>(fetcher: Fetcher<T>, intervalMs: number, enabled = true): Polled<T> {
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [tick, setTick] = useState(0)
  const latest = useRef(fetcher)
  latest.current = fetcher

  useEffect(() => {
    if (!enabled) return
    let ctl: AbortController | null = null
    let timer: ReturnType<typeof setTimeout> | null = null
    let stopped = false
    let waitingForVisible = false
    const poll = async () => {
      timer = null
      if (document.hidden) {
        waitingForVisible = true
        return
      }
      ctl = new AbortController()
      try {
        const v = await latest.current(ctl.signal)
        if (stopped) return
        setData(v)
        setError(null)
      } catch (err) {
        if (stopped) return
        setError(err instanceof Error ? err.message : String(err))
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(() => void poll(), intervalMs)
    }
    const onVisible = () => {
      if (document.hidden || stopped) return
      if (waitingForVisible || timer !== null) {
        waitingForVisible = false
        if (timer !== null) clearTimeout(timer)
        void poll()
      }
    }
    document.addEventListener('visibilitychange', onVisible)
    void poll()
    return () => {
      stopped = true
      ctl?.abort()
      if (timer !== null) clearTimeout(timer)
      document.removeEventListener('visibilitychange', onVisible)
    }
  }, [intervalMs, enabled, tick])

  const refresh = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, refresh }
}

/** GET /api/consumers/ every few seconds. */
export function useConsumers(intervalMs = 3000): Polled<ConsumersView> {
  return usePolling(getConsumers, intervalMs)
}

/** GET /api/consumers/history/ every few seconds. */
export function useConsumersHistory(intervalMs = 5000): Polled<ConsumersHistory> {
  return usePolling(getConsumersHistory, intervalMs)
}

/** GET /api/ordering/ every few seconds. */
export function useOrdering(intervalMs = 2000): Polled<OrderingView> {
  return usePolling(getOrdering, intervalMs)
}

/** GET /api/dlq/ every few seconds. */
export function useDLQ(intervalMs = 5000): Polled<DLQView> {
  return usePolling((signal) => getDLQ(signal), intervalMs)
}

/** GET /api/load/: every second while a run is going, every few seconds otherwise. */
export function useLoad(runningMs = 1000, idleMs = 5000): Polled<LoadState> {
  const [running, setRunning] = useState(false)
  const polled = usePolling(getLoad, running ? runningMs : idleMs)
  const nowRunning = polled.data?.status === 'running'
  useEffect(() => setRunning(nowRunning), [nowRunning])
  return polled
}
