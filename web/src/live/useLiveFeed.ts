// useLiveFeed owns the dashboard's WebSocket: it connects, validates frames,
// batches them into React state a few times per second, reconnects with
// capped exponential backoff and jitter, and resyncs from initial_data on
// every (re)connect.

import { startTransition, useEffect, useRef, useState } from 'react'
import { parseServerMessage, type ClientMessage, type ServerMessage } from '../api/ws'
import { applyFrames, DEFAULT_LIMITS, EMPTY_FEED, type FeedLimits, type FeedState } from './feed'
import { SeriesWindow } from './series'

/** The connection as the user should see it. */
export type ConnectionState = 'connected' | 'reconnecting' | 'offline'

/** The subset of the browser WebSocket the hook uses; tests inject a fake. */
export interface WebSocketLike {
  onopen: ((ev: Event) => void) | null
  onmessage: ((ev: MessageEvent) => void) | null
  onclose: ((ev: CloseEvent) => void) | null
  onerror: ((ev: Event) => void) | null
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type WebSocketFactory = new (url: string) => WebSocketLike

export interface Backoff {
  baseMs: number
  maxMs: number
}

export interface LiveFeedOptions {
  /** Defaults to /ws/events/ on the page's host. */
  url?: string
  WebSocketImpl?: WebSocketFactory
  /** Minimum time between two state updates. */
  flushIntervalMs?: number
  backoff?: Backoff
  limits?: FeedLimits
  /** Source of jitter, 0..1. */
  random?: () => number
  /** After events arrive without a stats_update for this long, ask for one. */
  statsRequestMs?: number
  /**
   * Called when the server closes the socket with 4401 (sign in again: the
   * session ended, the account went, the token was revoked); the socket
   * reconnects only once it has settled, so the app can find out first
   * whether it still may.
   */
  onSignInAgain?: () => Promise<unknown>
}

/** The close code of a socket whose client may no longer read it (live.StatusSignInAgain). */
export const CLOSE_SIGN_IN_AGAIN = 4401

export interface LiveFeed extends FeedState {
  connection: ConnectionState
  /** Whether the socket has been open at least once since mount. */
  everConnected: boolean
  /** When the next reconnect attempt starts (epoch ms), while reconnecting. */
  retryAt: number | null
  /**
   * Since when (epoch ms) the data shown is stale: the socket that fed it
   * closed then, and no initial_data has arrived since. null while fresh,
   * and before the first connection (there is no data to be stale).
   */
  staleSince: number | null
  /** Frames that failed validation since mount. */
  invalidFrames: number
  /** Rolling rates and latencies for the charts; read it, do not re-render on it. */
  series: SeriesWindow
}

const WS_CONNECTING = 0
const WS_OPEN = 1

/** The delay before reconnect attempt number attempt (0-based): capped exponential, equal jitter. */
export function backoffDelay(attempt: number, b: Backoff, random: () => number): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling / 2 + (ceiling / 2) * random())
}

export function defaultSocketURL(): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${window.location.host}/ws/events/`
}

function browserOnline(): boolean {
  return typeof navigator === 'undefined' || navigator.onLine !== false
}

interface ConnectionInfo {
  connection: ConnectionState
  everConnected: boolean
  retryAt: number | null
  staleSince: number | null
}

/** Connects to the live feed and returns its state. */
export function useLiveFeed(options: LiveFeedOptions = {}): LiveFeed {
  // Options are read once: the socket lives as long as the component.
  const [opts] = useState(options)
  const [feed, setFeed] = useState<FeedState>(EMPTY_FEED)
  const [conn, setConn] = useState<ConnectionInfo>({
    connection: 'reconnecting',
    everConnected: false,
    retryAt: null,
    staleSince: null,
  })
  const [invalidFrames, setInvalidFrames] = useState(0)
  const [series] = useState(() => new SeriesWindow())
  // Told each feed state React committed, so that the socket's loop starts
  // the next render only once the last one is on screen (see flush).
  const committed = useRef<(s: FeedState) => void>(() => {})
  useEffect(() => committed.current(feed), [feed])

  useEffect(() => {
    const o = opts
    const Impl: WebSocketFactory = o.WebSocketImpl ?? WebSocket
    const url = o.url ?? defaultSocketURL()
    const flushMs = o.flushIntervalMs ?? 250
    const backoff = o.backoff ?? { baseMs: 500, maxMs: 30_000 }
    const limits = o.limits ?? DEFAULT_LIMITS
    const random = o.random ?? Math.random
    const statsRequestMs = o.statsRequestMs ?? 1000

    let stopped = false
    let socket: WebSocketLike | null = null
    let attempt = 0
    let everConnected = false
    let state = EMPTY_FEED
    // The state React is rendering (a transition not yet committed), and
    // the last one handed to it.
    let rendering: FeedState | null = null
    let shown = EMPTY_FEED
    let pending: ServerMessage[] = []
    let invalid = 0
    let lastFlush = 0
    let flushTimer: ReturnType<typeof setTimeout> | null = null
    let retryTimer: ReturnType<typeof setTimeout> | null = null
    let statsTimer: ReturnType<typeof setTimeout> | null = null
    let lastStatsAt = 0
    let lastEventsAt = 0
    let info: ConnectionInfo = { connection: 'reconnecting', everConnected: false, retryAt: null, staleSince: null }

    const send = (msg: ClientMessage) => {
      if (socket && socket.readyState === WS_OPEN) socket.send(JSON.stringify(msg))
    }

    const flush = () => {
      flushTimer = null
      lastFlush = Date.now()
      const frames = pending
      pending = []
      if (frames.length === 0) return
      for (const f of frames) {
        switch (f.type) {
          case 'initial_data':
            series.resync(f.events, lastFlush, f.stats.recent_5min)
            lastStatsAt = lastFlush
            break
          case 'new_event':
            series.add([f.event])
            lastEventsAt = lastFlush
            break
          case 'new_events':
            if (f.events.length > 0) series.add(f.events, (f.events.length + f.dropped) / f.events.length)
            lastEventsAt = lastFlush
            break
          case 'stats_update':
            lastStatsAt = lastFlush
            break
          case 'queue_update':
          case 'marker':
            break
        }
      }
      state = applyFrames(state, frames, limits)
      render()
      // The data is fresh again once a snapshot replaced it, not when the
      // socket opens.
      if (info.staleSince !== null && frames.some((f) => f.type === 'initial_data')) {
        setInfo(info.connection, info.retryAt, null)
      }
      // The server pushes stats_update on its own; this only covers a server
      // that sends events without fresh totals, so counts never go stale.
      if (lastEventsAt > lastStatsAt && statsTimer === null) {
        statsTimer = setTimeout(() => {
          statsTimer = null
          if (lastEventsAt > lastStatsAt) send({ type: 'get_stats' })
        }, statsRequestMs)
      }
    }

    // A transition: React renders the dashboard's new state in slices that
    // yield to input and frames. One at a time: a new state handed over
    // while the last is still rendering restarts that render, and a render
    // restarted for 5 s expires and is done in one synchronous task (seen
    // at 5,000 events/s on two busy cores: 50-100 ms tasks). Frames that
    // arrive meanwhile are applied to the state; it is rendered once the
    // current render is on screen, so the page shows updates as fast as
    // it can draw them, never faster.
    const render = () => {
      if (rendering !== null || state === shown) return
      const next = state
      rendering = shown = next
      startTransition(() => setFeed(next))
    }
    committed.current = (s) => {
      if (s !== rendering) return
      rendering = null
      render()
    }

    const scheduleFlush = () => {
      if (flushTimer !== null) return
      flushTimer = setTimeout(flush, Math.max(0, lastFlush + flushMs - Date.now()))
    }

    const setInfo = (connection: ConnectionState, retryAt: number | null, staleSince = info.staleSince) => {
      info = { connection, everConnected, retryAt, staleSince }
      setConn(info)
    }

    const scheduleReconnect = () => {
      if (stopped) return
      if (!browserOnline()) {
        setInfo('offline', null)
        return
      }
      const delay = backoffDelay(attempt, backoff, random)
      attempt++
      setInfo('reconnecting', Date.now() + delay)
      retryTimer = setTimeout(() => {
        retryTimer = null
        connect()
      }, delay)
    }

    const connect = () => {
      if (stopped || socket !== null) return
      if (!browserOnline()) {
        setInfo('offline', null)
        return
      }
      let ws: WebSocketLike
      try {
        ws = new Impl(url)
      } catch {
        scheduleReconnect()
        return
      }
      socket = ws
      ws.onopen = () => {
        if (socket !== ws) return
        attempt = 0
        everConnected = true
        setInfo('connected', null)
      }
      ws.onmessage = (ev) => {
        if (socket !== ws) return
        const msg = parseServerMessage(ev.data)
        if (msg === null) {
          invalid++
          setInvalidFrames(invalid)
          return
        }
        pending.push(msg)
        scheduleFlush()
      }
      ws.onclose = (ev) => {
        if (socket !== ws) return
        socket = null
        const now = Date.now()
        series.pause(now)
        if (everConnected && info.staleSince === null) info = { ...info, staleSince: now }
        if (ev.code === CLOSE_SIGN_IN_AGAIN && o.onSignInAgain) {
          setInfo('reconnecting', null)
          void o.onSignInAgain().finally(scheduleReconnect)
          return
        }
        scheduleReconnect()
      }
      // A failed socket always closes too; the close handler reconnects.
      ws.onerror = () => {}
    }

    const onOnline = () => {
      if (socket !== null) return
      if (retryTimer !== null) clearTimeout(retryTimer)
      retryTimer = null
      attempt = 0
      connect()
    }
    const onOffline = () => {
      // The socket may survive a short outage; the state follows it and
      // turns offline only once it has closed.
      if (socket === null) {
        if (retryTimer !== null) clearTimeout(retryTimer)
        retryTimer = null
        setInfo('offline', null)
      }
    }
    window.addEventListener('online', onOnline)
    window.addEventListener('offline', onOffline)
    connect()

    return () => {
      stopped = true
      committed.current = () => {}
      window.removeEventListener('online', onOnline)
      window.removeEventListener('offline', onOffline)
      for (const t of [flushTimer, retryTimer, statsTimer]) if (t !== null) clearTimeout(t)
      const ws = socket
      socket = null
      if (ws) {
        ws.onclose = null
        ws.onmessage = null
        ws.onerror = null
        if (ws.readyState === WS_CONNECTING) {
          // Closing a socket that is still connecting makes browsers log an
          // error; let it open, then close it.
          ws.onopen = () => ws.close(1000, 'dashboard closed')
        } else {
          ws.onopen = null
          ws.close(1000, 'dashboard closed')
        }
      }
    }
  }, [opts, series])

  return { ...feed, ...conn, invalidFrames, series }
}
