// pulse.js: the browser tracker (docs/tracker.md). It numbers every event
// it keeps (stream_id + seq, so the server's delivery ledger can count
// what never arrived), persists its queue per page load in localStorage,
// sends batches to /api/collect as CORS-simple text/plain requests and
// retries them until the collector has answered: network errors, 429 and
// 5xx with backoff, 4xx never. Each event carries a client-made UUIDv7
// event_id, so a batch sent twice is stored once.
//
// Size matters more than elegance here (the budget is 3 KB gzipped):
// short local names, no classes, nothing the browser already does.

export interface Options {
  key: string
  /** The collector: https://host/api/collect. */
  url: string
  /** Nothing is stored or sent until consent(true). */
  consent?: boolean
  /** Do-Not-Track and Global Privacy Control turn the tracker off. */
  dnt?: boolean
  /** Page views on load and navigation (default true). */
  auto?: boolean
  /** Clicks carry the element's text. */
  text?: boolean
}

export type Props = Record<string, unknown>

export interface TrackedEvent {
  event_id: string
  event_type: string
  anonymous_id: string
  user_id?: string
  session_id: string
  stream_id: string
  seq: number
  timestamp: string
  page: string
  element_id?: string
  properties?: Props
}

type Hook = (e: TrackedEvent) => TrackedEvent | null | undefined

export interface Pulse {
  track(type: string, props?: Props, elementId?: string): void
  page(): void
  identify(userId: string): void
  consent(granted: boolean): void
  optOut(): void
  optIn(): void
  beforeSend(fn: Hook): void
  /** Sends what is queued now. */
  flush(): void
  /** Removes the tracker's listeners and timers (tests, or a page that wants it gone). */
  stop(): void
}

/** Events per request, and the bound a body stays under (a keepalive request's quota is 64 KiB). */
const MAX_EVENTS = 100
const MAX_BODY = 60_000
/** The persisted queue's bound: past it the oldest go, and are reported as dropped. */
export const MAX_QUEUE = 1000
const SESSION_MS = 30 * 60_000
const BATCH_MS = 1000
const BATCH_EVENTS = 10
/** A page load whose heartbeat is older than this left its queue behind. */
const ORPHAN_MS = 120_000
const P = 'pulse_'

/** A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits. */
export function uuid7(now = Date.now()): string {
  const b = crypto.getRandomValues(new Uint8Array(16))
  for (let i = 5; i >= 0; i--, now = Math.floor(now / 256)) b[i] = now % 256
  b[6] = (b[6] & 15) | 0x70
  b[8] = (b[8] & 63) | 0x80
  const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The wait before retry n (from 1): Retry-After when the server said, else full jitter up to 1 s·2ⁿ⁻¹, at most a minute. */
export function backoff(n: number, retryAfter: string | null, now = Date.now()): number {
  if (retryAfter) {
    const s = Number(retryAfter)
    const ms = isNaN(s) ? Date.parse(retryAfter) - now : s * 1000
    if (ms >= 0) return Math.min(ms, 3_600_000)
  }
  return Math.random() * Math.min(60_000, 1000 * 2 ** (n - 1))
}

export function start(o: Options): Pulse {
  const w = window
  const d = document
  const ac = new AbortController()
  const on = (t: EventTarget, type: string, f: (e: Event) => void) =>
    t.addEventListener(type, f, { capture: true, signal: ac.signal })
  const get = (k: string): string | null => {
    try {
      return localStorage.getItem(P + k)
    } catch {
      return null
    }
  }
  const set = (k: string, v: string | null) => {
    if (!keep()) return
    try {
      if (v === null) localStorage.removeItem(P + k)
      else localStorage.setItem(P + k, v)
    } catch {
      // Storage full or refused: the queue still lives in memory.
    }
  }
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean }
  const off = () =>
    get('out') === '1' || (o.dnt === true && (nav.doNotTrack === '1' || nav.globalPrivacyControl === true))
  let consented = !o.consent || get('consent') === '1'
  /** Whether anything may be stored or sent. */
  const keep = () => consented && !off()

  const stream = uuid7()
  let seq = 0
  let anon = get('aid') ?? uuid7()
  let user = get('uid') ?? undefined
  let hooks: Hook[] = []
  /** This page load's queue, oldest first. */
  let q: TrackedEvent[] = []
  let dropped = Number(get('drop') ?? 0)
  /** Ids of the events a request carries now. */
  const busy = new Set<string>()
  let attempt = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastPage = ''

  const save = () => {
    set('q_' + stream, q.length ? JSON.stringify(q) : null)
    set('hb_' + stream, String(Date.now()))
    set('drop', dropped ? String(dropped) : null)
  }
  const persistIds = () => {
    set('aid', anon)
    if (user) set('uid', user)
  }

  // Queues that earlier page loads left (a closed tab, a reload, a crash)
  // are this page's to send.
  const adopt = () => {
    if (!keep()) return
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const k = localStorage.key(i) ?? ''
        if (!k.startsWith(P + 'q_') || k === P + 'q_' + stream) continue
        const owner = k.slice(P.length + 2)
        if (Date.now() - Number(get('hb_' + owner) ?? 0) < ORPHAN_MS) continue
        q = (JSON.parse(localStorage.getItem(k) ?? '[]') as TrackedEvent[]).concat(q)
        localStorage.removeItem(k)
        localStorage.removeItem(P + 'hb_' + owner)
      }
    } catch {
      // A damaged queue is dropped with its key.
    }
    trim()
  }
  const trim = () => {
    if (q.length > MAX_QUEUE) {
      dropped += q.length - MAX_QUEUE
      q = q.slice(q.length - MAX_QUEUE)
    }
  }

  /** "id.last-event-ms", in memory too: before consent nothing is stored. */
  let sess = ''
  const session = () => {
    const now = Date.now()
    const [id, t] = (get('sid') ?? sess).split('.')
    const sid = id && now - Number(t) < SESSION_MS ? id : uuid7()
    sess = `${sid}.${now}`
    set('sid', sess)
    return sid
  }

  const schedule = (ms: number) => {
    clearTimeout(timer)
    timer = setTimeout(send, ms)
  }

  const track = (type: string, props?: Props, elementId?: string) => {
    if (off()) return
    let e: TrackedEvent | null | undefined = {
      event_id: uuid7(),
      event_type: type,
      anonymous_id: anon,
      user_id: user,
      session_id: session(),
      stream_id: stream,
      seq: 0,
      timestamp: new Date().toISOString(),
      page: location.href,
      element_id: elementId,
      properties: props,
    }
    for (const h of hooks) if (e) e = h(e)
    if (!e) return
    // Numbered once kept: a dropped one leaves no gap.
    e.seq = ++seq
    q.push(e)
    trim()
    save()
    // A batch waits a second for company, unless full; a retry waits for
    // its own timer.
    if (!busy.size && !attempt && (!timer || q.length >= BATCH_EVENTS))
      schedule(q.length >= BATCH_EVENTS ? 0 : BATCH_MS)
  }

  /** The next request's events: at most MAX_EVENTS, its body under MAX_BODY. */
  const chunk = (from: TrackedEvent[]) => {
    const out: TrackedEvent[] = []
    let size = 200
    for (const e of from) {
      size += JSON.stringify(e).length + 1
      if (out.length && (out.length === MAX_EVENTS || size > MAX_BODY)) break
      out.push(e)
    }
    return out
  }
  /** Sends the next events not in flight; true once the collector answered for good. */
  const post = (): Promise<boolean> => {
    const events = chunk(q.filter((e) => !busy.has(e.event_id)))
    const reported = dropped
    for (const e of events) busy.add(e.event_id)
    // keepalive outlives the page: a request made as it closes still
    // arrives. Its answer settles the queue if the page is still here to
    // read it; otherwise the events stay persisted and the next page
    // sends them again, which their ids make harmless.
    return fetch(o.url, {
      method: 'POST',
      body: JSON.stringify({ key: o.key, sent_at: new Date().toISOString(), dropped: reported, events }),
      keepalive: true,
      credentials: 'omit',
      headers: { 'Content-Type': 'text/plain' },
    })
      .then(
        (r) => {
          if (r.status === 429 || r.status >= 500) {
            retryAfter = r.headers.get('Retry-After')
            return false
          }
          // Answered: stored, or refused for good (4xx is never retried).
          const ids = new Set(events.map((e) => e.event_id))
          q = q.filter((e) => !ids.has(e.event_id))
          dropped = Math.max(0, dropped - reported)
          save()
          return true
        },
        () => false,
      )
      .finally(() => {
        for (const e of events) busy.delete(e.event_id)
      })
  }
  let retryAfter: string | null = null

  function send(): void {
    clearTimeout(timer)
    timer = undefined
    if (busy.size || !q.length || !keep()) return
    retryAfter = null
    void post().then((ok) => {
      if (!ok) return schedule(backoff(++attempt, retryAfter))
      attempt = 0
      if (q.length) schedule(0)
    })
  }

  /** The page is going away or hidden: what is not in flight goes now. */
  const leave = () => {
    if (q.some((e) => !busy.has(e.event_id)) && keep()) void post().then(() => q.length && !timer && schedule(BATCH_MS))
  }

  const page = () => {
    lastPage = location.href.split('#')[0]
    track('page_view', { title: d.title, referrer: d.referrer })
  }
  /** A navigation changed the URL (the hash aside): one page view per change. */
  const moved = () => {
    if (location.href.split('#')[0] !== lastPage) page()
  }

  const click = (ev: Event) => {
    const el = (ev.target as Element | null)?.closest?.('[data-pulse-event]') as HTMLElement | null
    if (!el) return
    const type = el.dataset.pulseEvent ?? ''
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(type)) return
    const props: Props = {}
    for (const [k, v] of Object.entries(el.dataset)) {
      const m = /^pulseProp(.+)$/.exec(k)
      if (m) props[m[1].replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase())] = v
    }
    if (o.text) props.text = (el.textContent ?? '').trim().slice(0, 200)
    track(type, props, el.id || el.dataset.pulseId || undefined)
  }

  const api: Pulse = {
    track,
    page,
    identify(id) {
      user = id
      persistIds()
    },
    consent(granted) {
      consented = granted
      if (granted) {
        set('consent', '1')
        persistIds()
        adopt()
        save()
        send()
      } else {
        q = []
        dropped = 0
        anon = uuid7()
        user = undefined
        try {
          for (const k of ['consent', 'aid', 'uid', 'sid', 'q_' + stream, 'hb_' + stream])
            localStorage.removeItem(P + k)
        } catch {
          // Nothing stored, nothing to remove.
        }
      }
    },
    optOut() {
      api.consent(false)
      consented = !o.consent
      try {
        localStorage.setItem(P + 'out', '1')
      } catch {
        // Without storage the opt-out lasts as long as the page.
      }
    },
    optIn() {
      try {
        localStorage.removeItem(P + 'out')
      } catch {
        // Nothing stored.
      }
    },
    beforeSend(fn) {
      hooks.push(fn)
    },
    flush: send,
    stop() {
      ac.abort()
      clearTimeout(timer)
      clearInterval(beat)
      hooks = []
      history.pushState = push
      history.replaceState = replace
    },
  }

  if (keep()) persistIds()
  adopt()
  save()
  if (q.length) schedule(0)
  // A tab in the background keeps its queue its own (timers there run
  // about once a minute, within ORPHAN_MS).
  const beat = setInterval(() => q.length && set('hb_' + stream, String(Date.now())), 30_000)

  // The originals, called with history as this, and put back by stop().
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const push = history.pushState
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const replace = history.replaceState
  if (o.auto !== false) {
    history.pushState = function (...a: Parameters<History['pushState']>) {
      push.apply(this, a)
      moved()
    }
    history.replaceState = function (...a: Parameters<History['replaceState']>) {
      replace.apply(this, a)
      moved()
    }
    on(w, 'popstate', moved)
    // A page restored from the back/forward cache is a new view of it.
    on(w, 'pageshow', (e) => {
      if ((e as PageTransitionEvent).persisted) {
        set('hb_' + stream, String(Date.now()))
        page()
      }
    })
    page()
  }
  on(d, 'click', click)
  on(w, 'online', () => {
    attempt = 0
    send()
  })
  on(w, 'pagehide', () => {
    leave()
    // This page load's queue is the next page's to send now.
    set('hb_' + stream, null)
  })
  on(d, 'visibilitychange', () => {
    if (d.visibilityState === 'hidden') leave()
  })
  return api
}
