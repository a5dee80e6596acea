// A sliding window of per-bucket event counts by type and end-to-end
// latency samples, fed by arriving events and read by the charts. Memory is
// bounded whatever the rate: one bucket per few seconds, and a fixed-size
// reservoir of latency samples per bucket.
//
// A count is only as good as the time it covers: the window also keeps the
// spans this page did not watch (before the first initial_data, while the
// socket was down), and a bucket that touches one has no rate rather than a
// made-up one.

import type { StoredEvent } from '../api/schema'

const RESERVOIR = 256

interface Bucket {
  counts: Map<string, number>
  latencies: number[]
  seen: number
}

/** Chart-ready data: x in Unix seconds, one y array per type or percentile. */
export interface SeriesSnapshot {
  times: number[]
  types: string[]
  /**
   * rates[i][j]: events per second of types[i] in bucket j; null where the
   * bucket is not complete or was not watched whole.
   */
  rates: (number | null)[][]
  p50: (number | null)[]
  p95: (number | null)[]
  p99: (number | null)[]
}

/**
 * The live figures of the statistics panel, as of one tick of the clock.
 * null where the page has not watched enough to say.
 */
export interface LiveTotals {
  /** Stored events per second over the 10 complete seconds before now (the server's definition). */
  eventsPerSecond: number | null
  /** Events stored in the last 5 minutes. */
  recent5min: number | null
}

/** The span of LiveTotals.eventsPerSecond, as the server's stats (internal/live rateWindow). */
export const RATE_WINDOW_MS = 10_000
/** The width of the server's series buckets (internal/series.Bucket). */
export const SERVER_BUCKET_MS = 10_000

/** The span of LiveTotals.recent5min. */
export const RECENT_WINDOW_MS = 300_000

export interface SeriesOptions {
  windowMs: number
  bucketMs: number
  random: () => number
}

/** Computes the q-quantile (0..1) of sorted values by nearest rank. */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]
}

/** Rolling event rate and latency percentiles over the last windowMs. */
export class SeriesWindow {
  private readonly opts: SeriesOptions
  private readonly buckets = new Map<number, Bucket>()
  private readonly types = new Set<string>()
  // watermark is the newest created_at added, so a resync's initial events
  // that were already counted live are not counted twice.
  private watermark = 0
  // unwatched holds the spans [from, to) (epoch ms) whose events this page
  // may not have: everything before the first sync, and each outage. An
  // open span (to = Infinity) is the one going on.
  private unwatched: [number, number][] = [[-Infinity, Infinity]]
  // initialIds are the events of the last initial_data: the server may send
  // one of them again in a following frame.
  private initialIds = new Set<string>()
  // perSecond counts events (weighted) by the second they were stored in,
  // for the live totals: the charts' buckets are too coarse for them.
  private readonly perSecond = new Map<number, number>()
  // anchor is what the server said was stored in the 5 minutes before the
  // last resync and this page does not have itself: the events before the
  // snapshot's oldest one (and in outages). Where in the unwatched time they
  // fell is unknown, so they leave the window evenly, as the server's own
  // seed does.
  private anchor: { at: number; count: number; unwatchedMs: number } | null = null

  constructor(opts: Partial<SeriesOptions> = {}) {
    // 10 s buckets, as the server's series (internal/series.Bucket): the
    // live buckets extend the server's steps one for one.
    this.opts = { windowMs: 15 * 60_000, bucketMs: SERVER_BUCKET_MS, random: Math.random, ...opts }
  }

  /**
   * Adds live events. weight is how many real events each one stands for:
   * above 1 when the server sampled (new_events.dropped), so the rate stays
   * honest while the latency samples are what arrived.
   */
  add(events: readonly StoredEvent[], weight = 1): void {
    for (const e of events) {
      if (this.initialIds.has(e.event_id)) continue
      this.addOne(e, weight)
    }
  }

  /**
   * Takes an initial_data's events (the newest stored ones) at now. Every
   * event stored after the oldest of them is among them, so from there on
   * the counts are complete; before it, and between the last outage and it
   * when the snapshot does not reach back to what was seen live, they are
   * not, and those spans stay unwatched.
   */
  resync(events: readonly StoredEvent[], now: number, serverRecent5min?: number): void {
    let oldest = Infinity
    for (const e of events) {
      const created = Date.parse(e.created_at)
      if (!Number.isNaN(created)) oldest = Math.min(oldest, created)
    }
    const watchedFrom = oldest === Infinity ? now : oldest
    this.unwatched = this.unwatched
      .map(([from, to]): [number, number] => [from, to === Infinity ? watchedFrom : to])
      .filter(([from, to]) => to > from)
    const since = this.watermark
    for (const e of events) {
      if (Date.parse(e.created_at) > since) this.addOne(e, 1)
    }
    this.initialIds = new Set(events.map((e) => e.event_id))
    if (serverRecent5min !== undefined) {
      const own = this.countSince(now - RECENT_WINDOW_MS)
      this.anchor = {
        at: now,
        count: Math.max(0, serverRecent5min - own),
        unwatchedMs: this.unwatchedMs(now - RECENT_WINDOW_MS, now),
      }
    }
  }

  // countSince adds the per-second counts of the seconds ending after from.
  private countSince(from: number, to = Infinity): number {
    let n = 0
    for (const [sec, c] of this.perSecond) if (sec + 1000 > from && sec < to) n += c
    return n
  }

  /**
   * Returns the live totals at now. They are computed against the clock,
   * not when a frame arrives, so with no events they fall to 0 within
   * their window; time the page did not watch counts for nothing in the
   * rate (which is null if less than a second of its window was watched).
   */
  totals(now: number): LiveTotals {
    for (const sec of this.perSecond.keys()) if (sec + 1000 <= now - RECENT_WINDOW_MS) this.perSecond.delete(sec)
    const end = Math.floor(now / 1000) * 1000
    const watched = RATE_WINDOW_MS - this.unwatchedMs(end - RATE_WINDOW_MS, end)
    const eventsPerSecond = watched < 1000 ? null : this.countSince(end - RATE_WINDOW_MS, end) / (watched / 1000)
    let recent5min: number | null = null
    if (this.anchor !== null) {
      const a = this.anchor
      const left = a.unwatchedMs > 0 ? this.unwatchedMs(now - RECENT_WINDOW_MS, a.at) / a.unwatchedMs : 0
      recent5min = Math.round(this.countSince(now - RECENT_WINDOW_MS) + a.count * left)
    }
    return { eventsPerSecond, recent5min }
  }

  /** Marks that events stop arriving at now (the socket closed) until the next resync. */
  pause(now: number): void {
    if (this.unwatched.some(([, to]) => to === Infinity)) return
    this.unwatched.push([now, Infinity])
  }

  /** Returns how much of [from, to) this page did not watch, in ms. */
  private unwatchedMs(from: number, to: number): number {
    let ms = 0
    for (const [a, b] of this.unwatched) ms += Math.max(0, Math.min(to, b) - Math.max(from, a))
    return ms
  }

  private addOne(e: StoredEvent, weight: number): void {
    const created = Date.parse(e.created_at)
    if (Number.isNaN(created)) return
    if (created > this.watermark) this.watermark = created
    const key = Math.floor(created / this.opts.bucketMs) * this.opts.bucketMs
    let b = this.buckets.get(key)
    if (!b) {
      b = { counts: new Map(), latencies: [], seen: 0 }
      this.buckets.set(key, b)
    }
    b.counts.set(e.event_type, (b.counts.get(e.event_type) ?? 0) + weight)
    const sec = Math.floor(created / 1000) * 1000
    this.perSecond.set(sec, (this.perSecond.get(sec) ?? 0) + weight)
    this.types.add(e.event_type)
    const produced = Date.parse(e.timestamp)
    if (Number.isNaN(produced)) return
    const latency = Math.max(0, created - produced)
    b.seen++
    if (b.latencies.length < RESERVOIR) {
      b.latencies.push(latency)
    } else {
      const j = Math.floor(this.opts.random() * b.seen)
      if (j < RESERVOIR) b.latencies[j] = latency
    }
  }

  /**
   * Returns the window ending at now, dropping buckets that fell out of it.
   * A bucket still filling, or one this page did not watch whole, has no
   * rate (a gap, not a zero): a partial count divided by a full or a short
   * span draws a dip or a spike that did not happen.
   */
  snapshot(now: number): SeriesSnapshot {
    const { windowMs, bucketMs } = this.opts
    const last = Math.floor(now / bucketMs) * bucketMs
    const first = last - Math.floor(windowMs / bucketMs) * bucketMs + bucketMs
    for (const k of this.buckets.keys()) if (k < first) this.buckets.delete(k)
    this.unwatched = this.unwatched.filter(([, to]) => to > first)
    const types = [...this.types].sort()
    const times: number[] = []
    const rates = types.map(() => [] as (number | null)[])
    const p50: (number | null)[] = []
    const p95: (number | null)[] = []
    const p99: (number | null)[] = []
    for (let t = first; t <= last; t += bucketMs) {
      times.push(t / 1000)
      const whole = t + bucketMs <= now && this.unwatchedMs(t, t + bucketMs) === 0
      const b = this.buckets.get(t)
      types.forEach((type, i) => rates[i].push(whole ? (b?.counts.get(type) ?? 0) / (bucketMs / 1000) : null))
      const sorted = b ? b.latencies.slice().sort((x, y) => x - y) : []
      p50.push(quantile(sorted, 0.5))
      p95.push(quantile(sorted, 0.95))
      p99.push(quantile(sorted, 0.99))
    }
    return { times, types, rates, p50, p95, p99 }
  }
}
