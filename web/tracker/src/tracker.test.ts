// The tracker against a fake collector: every promise of docs/tracker.md
// that does not need a real browser (those are in e2e/tracker.spec.ts).

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoff, MAX_QUEUE, start, uuid7, type Pulse, type TrackedEvent } from './tracker.ts'

interface Sent {
  url: string
  init: RequestInit
  body: { key: string; sent_at: string; dropped: number; events: TrackedEvent[] }
}

let sent: Sent[] = []
/** The collector's next answers, status or 'network'; 200 once they run out. */
let answers: (number | 'network' | [number, string])[] = []
let running: Pulse[] = []

function collector(): void {
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    sent.push({ url, init, body: JSON.parse(init.body as string) as Sent['body'] })
    const a = answers.shift() ?? 200
    if (a === 'network') return Promise.reject(new TypeError('Failed to fetch'))
    const [status, retryAfter] = Array.isArray(a) ? a : [a, null]
    const headers = new Headers(retryAfter ? { 'Retry-After': retryAfter } : {})
    return Promise.resolve(new Response('{}', { status, headers }))
  })
}

function tracker(o: Partial<Parameters<typeof start>[0]> = {}): Pulse {
  const p = start({ key: 'pk_test', url: 'https://pulse.example/api/collect', ...o })
  running.push(p)
  return p
}

/** Lets the timers and the promises of the fake collector run. */
async function run(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
}

const events = () => sent.flatMap((s) => s.body.events)

beforeEach(() => {
  vi.useFakeTimers()
  sent = []
  answers = []
  collector()
})

afterEach(() => {
  for (const p of running) p.stop()
  running = []
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('ids', () => {
  it('makes version 7 UUIDs with the time first', () => {
    const id = uuid7(Date.UTC(2026, 11, 2))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(parseInt(id.replace('-', '').slice(0, 12), 16)).toBe(Date.UTC(2026, 11, 2))
    expect(uuid7()).not.toBe(uuid7())
  })
})

describe('backoff', () => {
  it('honours Retry-After in seconds or as a date, else full jitter capped at a minute', () => {
    expect(backoff(1, '3')).toBe(3000)
    expect(backoff(1, new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000)
    for (let n = 1; n < 12; n++) {
      const d = backoff(n, null)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(Math.min(60_000, 1000 * 2 ** (n - 1)))
    }
  })
})

describe('batching and numbering', () => {
  it('waits a second for company, sends ten at once, numbers every event of the page load', async () => {
    const p = tracker({ auto: false })
    p.track('a')
    p.track('b', { n: 1 })
    await run(900)
    expect(sent).toHaveLength(0)
    await run(200)
    expect(sent).toHaveLength(1)
    const [req] = sent
    expect(req.url).toBe('https://pulse.example/api/collect')
    expect(req.init.keepalive).toBe(true)
    expect(req.init.credentials).toBe('omit')
    expect(new Headers(req.init.headers).get('Content-Type')).toBe('text/plain')
    expect(req.body.key).toBe('pk_test')
    for (let i = 0; i < 10; i++) p.track('c')
    await run(0)
    expect(sent).toHaveLength(2)
    const all = events()
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(new Set(all.map((e) => e.stream_id)).size).toBe(1)
    expect(new Set(all.map((e) => e.event_id)).size).toBe(12)
    expect(all[1].properties).toEqual({ n: 1 })
    expect(localStorage.getItem('pulse_aid')).toBe(all[0].anonymous_id)
  })

  it('a continuous trickle still goes out every second', async () => {
    const p = tracker({ auto: false })
    for (let i = 0; i < 5; i++) {
      p.track('t')
      await run(400)
    }
    expect(sent.length).toBeGreaterThanOrEqual(1)
  })

  it('keeps a session for 30 minutes without events', async () => {
    const p = tracker({ auto: false })
    p.track('a')
    await run(29 * 60_000)
    p.track('b')
    await run(31 * 60_000)
    p.track('c')
    await run(2000)
    const [a, b, c] = events()
    expect(a.session_id).toBe(b.session_id)
    expect(c.session_id).not.toBe(b.session_id)
  })
})

describe('delivery', () => {
  it('retries network errors, 429 and 5xx, honouring Retry-After, until stored once', async () => {
    answers = ['network', [503, '2'], [429, '1']]
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const p = tracker({ auto: false })
    p.track('a')
    await run(1000)
    expect(sent).toHaveLength(1)
    await run(500) // full jitter: half of the first second
    expect(sent).toHaveLength(2)
    await run(1900)
    expect(sent).toHaveLength(2) // Retry-After: 2
    await run(200)
    expect(sent).toHaveLength(3)
    await run(1000)
    expect(sent).toHaveLength(4)
    expect(new Set(sent.map((s) => s.body.events[0].event_id)).size).toBe(1)
    await run(120_000)
    expect(sent).toHaveLength(4)
    expect(localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith('pulse_q_')) ?? 'none')).toBeNull()
  })

  it('never retries a 4xx', async () => {
    answers = [400, 403]
    const p = tracker({ auto: false })
    p.track('a')
    await run(1000)
    p.track('b')
    await run(1000)
    await run(120_000)
    expect(sent).toHaveLength(2)
    expect(sent[0].body.events[0].event_type).toBe('a')
    expect(sent[1].body.events[0].event_type).toBe('b')
  })

  it('bounds the queue, drops the oldest and reports how many, once', async () => {
    answers = Array<'network'>(20).fill('network')
    const p = tracker({ auto: false })
    for (let i = 0; i < MAX_QUEUE + 5; i++) p.track('e', { i })
    await run(0)
    const first = sent[0].body
    expect(first.dropped).toBe(5)
    expect(first.events[0].properties).toEqual({ i: 5 })
    answers = []
    window.dispatchEvent(new Event('online'))
    await run(1000)
    const delivered = sent.slice(-11)
    expect(delivered.reduce((n, s) => n + s.body.events.length, 0)).toBeGreaterThan(0)
    const last = sent[sent.length - 1].body
    expect(last.dropped).toBe(0)
    expect(localStorage.getItem('pulse_drop')).toBeNull()
  })

  it('chunks a queue into requests of at most 100 events and 60 KB', async () => {
    answers = ['network']
    const p = tracker({ auto: false })
    for (let i = 0; i < 150; i++) p.track('big', { pad: 'x'.repeat(900) })
    await run(0) // the first full batch fails
    sent = []
    window.dispatchEvent(new Event('online'))
    await run(1000)
    for (const s of sent) {
      expect(s.body.events.length).toBeLessThanOrEqual(100)
      expect((s.init.body as string).length).toBeLessThan(64_000)
    }
    expect(events()).toHaveLength(150)
  })

  it('sends what is queued when the page is hidden or goes away', async () => {
    const p = tracker({ auto: false })
    p.track('a')
    window.dispatchEvent(new Event('pagehide'))
    await run(0)
    expect(sent).toHaveLength(1)
    expect(sent[0].init.keepalive).toBe(true)
    await run(5000)
    expect(sent).toHaveLength(1)
  })

  it('a queue left by an earlier page load is sent by the next one', async () => {
    answers = ['network', 'network']
    const first = tracker({ auto: false })
    first.track('a')
    first.track('b')
    await run(1000)
    window.dispatchEvent(new Event('pagehide'))
    await run(0)
    first.stop()
    const before = new Set(sent.flatMap((s) => s.body.events.map((e) => e.event_id)))
    sent = []
    tracker({ auto: false })
    await run(0)
    const ids = events().map((e) => e.event_id)
    expect(new Set(ids)).toEqual(before)
    expect(events().map((e) => e.seq)).toEqual([1, 2])
  })

  it('does not take the queue of a page load that is still alive', async () => {
    answers = ['network', 'network', 'network']
    const alive = tracker({ auto: false })
    alive.track('mine')
    await run(1000)
    sent = []
    tracker({ auto: false })
    await run(0)
    expect(events()).toHaveLength(0)
  })
})

describe('consent and privacy', () => {
  it('with consent required nothing is stored or sent until consent(true)', async () => {
    const p = tracker({ consent: true })
    p.identify('user-1')
    p.track('a')
    await run(5000)
    expect(sent).toHaveLength(0)
    expect(Object.keys(localStorage)).toEqual([])
    p.consent(true)
    await run(0)
    expect(events().map((e) => e.event_type)).toEqual(['page_view', 'a'])
    expect(events()[1].user_id).toBe('user-1')
    expect(localStorage.getItem('pulse_consent')).toBe('1')
  })

  it('consent(false) drops what was waiting and forgets the ids', async () => {
    const p = tracker({ consent: true, auto: false })
    p.track('a')
    p.consent(false)
    p.consent(true)
    await run(2000)
    expect(events()).toHaveLength(0)
  })

  it('an opt-out lasts across page loads until optIn', async () => {
    const p = tracker({ auto: false })
    p.optOut()
    p.track('a')
    p.stop()
    const q = tracker({ auto: false })
    q.track('b')
    await run(2000)
    expect(sent).toHaveLength(0)
    q.optIn()
    q.track('c')
    await run(2000)
    expect(events().map((e) => e.event_type)).toEqual(['c'])
  })

  it('honours Do-Not-Track and GPC only when asked to', async () => {
    vi.stubGlobal('navigator', { ...navigator, doNotTrack: '1' })
    tracker({ dnt: true }).track('a')
    await run(2000)
    expect(sent).toHaveLength(0)
    expect(Object.keys(localStorage)).toEqual([])
    tracker({}).track('b')
    await run(2000)
    expect(events().map((e) => e.event_type)).toContain('b')
  })

  it('beforeSend redacts or drops, and a dropped event leaves no gap', async () => {
    const p = tracker({ auto: false })
    p.beforeSend((e) => (e.event_type === 'secret' ? null : { ...e, page: 'redacted' }))
    p.track('a')
    p.track('secret')
    p.track('b')
    await run(1000)
    expect(events().map((e) => [e.event_type, e.seq, e.page])).toEqual([
      ['a', 1, 'redacted'],
      ['b', 2, 'redacted'],
    ])
  })
})

describe('page views and clicks', () => {
  it('counts a view on load and per URL change, not per history call', async () => {
    tracker()
    history.pushState({}, '', '/cart')
    history.replaceState({}, '', '/cart') // same URL
    history.pushState({}, '', '/cart#reviews') // only the hash
    history.pushState({}, '', '/about')
    history.back()
    await run(50)
    window.dispatchEvent(new PopStateEvent('popstate'))
    await run(1000)
    const views = events()
      .filter((e) => e.event_type === 'page_view')
      .map((e) => new URL(e.page).pathname)
    expect(views.slice(0, 3)).toEqual(['/', '/cart', '/about'])
  })

  it('counts a page restored from the back/forward cache', async () => {
    tracker()
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }))
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false }))
    await run(1000)
    expect(events().filter((e) => e.event_type === 'page_view')).toHaveLength(2)
  })

  it('tracks clicks on marked elements only, with their properties and no text', async () => {
    document.body.innerHTML = `
      <button id="signup" data-pulse-event="signup_click" data-pulse-prop-plan="pro" data-pulse-prop-seat-count="3"><span>Sign <b>up</b></span></button>
      <button id="plain">Plain</button>
      <button data-pulse-event="Bad Name">Bad</button>`
    tracker({ auto: false })
    ;(document.querySelector('#signup b') as HTMLElement).click()
    ;(document.querySelector('#plain') as HTMLElement).click()
    ;(document.querySelector('[data-pulse-event="Bad Name"]') as HTMLElement).click()
    await run(1000)
    expect(events()).toHaveLength(1)
    const [e] = events()
    expect(e.event_type).toBe('signup_click')
    expect(e.element_id).toBe('signup')
    expect(e.properties).toEqual({ plan: 'pro', seat_count: '3' })
  })

  it('captures an element text only when asked', async () => {
    document.body.innerHTML = `<a data-pulse-event="cta" data-pulse-id="hero">  Buy now </a>`
    tracker({ auto: false, text: true })
    ;(document.querySelector('a') as HTMLElement).click()
    await run(1000)
    expect(events()[0].properties).toEqual({ text: 'Buy now' })
    expect(events()[0].element_id).toBe('hero')
  })
})
