import { describe, expect, it } from 'vitest'
import { storedEvent } from '../test/fixtures'
import { quantile, SeriesWindow } from './series'

describe('SeriesWindow', () => {
  const t0 = Date.parse('2026-11-25T10:00:00Z')
  const at = (ms: number, latency: number, type = 'button_click') =>
    storedEvent({
      event_type: type,
      timestamp: new Date(t0 + ms - latency).toISOString(),
      created_at: new Date(t0 + ms).toISOString(),
    })

  it('computes rates per type and latency percentiles per bucket', () => {
    const w = new SeriesWindow({ windowMs: 60_000, bucketMs: 5_000 })
    w.resync([], t0)
    w.add([at(1000, 10), at(2000, 20), at(3000, 5000, 'form_submit')])
    w.add([at(4000, 30)], 3)
    const s = w.snapshot(t0 + 10_000)
    expect(s.types).toEqual(['button_click', 'form_submit'])
    const i = s.times.indexOf(t0 / 1000)
    expect(s.rates[0][i]).toBeCloseTo(5 / 5)
    expect(s.rates[1][i]).toBeCloseTo(1 / 5)
    expect(s.p50[i]).toBe(20)
    expect(s.p99[i]).toBe(5000)
    expect(s.p50[i + 1]).toBeNull()
  })

  it('does not count a resync twice and forgets what left the window', () => {
    const w = new SeriesWindow({ windowMs: 60_000, bucketMs: 5_000 })
    w.resync([], t0 - 1)
    const e = at(1000, 10)
    w.add([e])
    w.pause(t0 + 2000)
    w.resync([e, at(500, 10)], t0 + 3000)
    w.add([e])
    const s = w.snapshot(t0 + 5_000)
    expect(s.rates[0][s.times.indexOf(t0 / 1000)]).toBeCloseTo(1 / 5)
    const later = w.snapshot(t0 + 120_000)
    expect(later.rates[0].slice(0, -1).every((r) => r === 0)).toBe(true)
  })

  // A page opened on a steady 10 events/s: initial_data holds the newest 50,
  // the last 5 s. Counted as the whole story they drew a lone bump after
  // zeros (and the bucket still filling, divided by the few ms it had
  // covered, drew a spike of hundreds per second).
  it('draws no rate for what the page did not watch whole', () => {
    const w = new SeriesWindow({ windowMs: 60_000, bucketMs: 5_000 })
    const stream = (from: number, to: number) => {
      const out = []
      for (let ms = from; ms < to; ms += 100) out.push(at(ms, 10))
      return out
    }
    const load = 40_300
    w.resync(stream(load - 5_000, load).reverse(), load)
    const s = w.snapshot(load)
    expect(s.rates[0].every((r) => r === null)).toBe(true)

    // Live events follow; the first complete bucket after the snapshot's
    // oldest event is the first point, and it is the real rate.
    w.add(stream(load, 50_001))
    const live = w.snapshot(50_001 + t0)
    const drawn = live.rates[0].filter((r) => r !== null)
    expect(drawn).toHaveLength(2)
    drawn.forEach((r) => expect(r).toBeCloseTo(10))
    expect(live.rates[0].at(-1)).toBeNull()
  })

  it('leaves an outage out unless the resync reaches back to what was seen', () => {
    const w = new SeriesWindow({ windowMs: 60_000, bucketMs: 5_000 })
    w.resync([], t0 - 5_000)
    w.add([at(1_000, 10)])
    w.pause(t0 + 2_000)
    // Back at 22 s; the snapshot starts at 16 s: 2..16 s are not known.
    w.resync([at(21_000, 10), at(16_000, 10)], t0 + 22_000)
    const s = w.snapshot(t0 + 30_000)
    const rate = (sec: number) => s.rates[0][s.times.indexOf(t0 / 1000 + sec)]
    expect(rate(-5)).toBe(0)
    expect(rate(0)).toBeNull()
    expect(rate(5)).toBeNull()
    expect(rate(10)).toBeNull()
    expect(rate(15)).toBeNull()
    expect(rate(20)).toBeCloseTo(1 / 5)
    expect(rate(25)).toBe(0)

    // A short outage the snapshot covers leaves no gap.
    w.pause(t0 + 31_000)
    w.resync([at(32_000, 10), at(21_000, 10)], t0 + 33_000)
    const t = w.snapshot(t0 + 40_000)
    expect(t.rates[0][t.times.indexOf(t0 / 1000 + 30)]).toBeCloseTo(1 / 5)
  })

  it('quantile uses the nearest rank', () => {
    expect(quantile([], 0.5)).toBeNull()
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2)
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4)
  })
})

describe('SeriesWindow.totals', () => {
  const t0 = Date.parse('2026-11-25T10:00:00Z')
  const at = (ms: number) =>
    storedEvent({ timestamp: new Date(t0 + ms).toISOString(), created_at: new Date(t0 + ms).toISOString() })

  it('has nothing to say before the first sync, and a rate over what it watched', () => {
    const w = new SeriesWindow()
    expect(w.totals(t0)).toEqual({ eventsPerSecond: null, recent5min: null })
    w.resync([], t0, 0)
    expect(w.totals(t0 + 500).eventsPerSecond).toBeNull()
    w.add([at(100), at(200), at(1500), at(1600)])
    // Two complete seconds watched, four events.
    expect(w.totals(t0 + 2_100)).toEqual({ eventsPerSecond: 2, recent5min: 4 })
  })

  it('spreads what the server counted before the page looked over the time it did not watch', () => {
    const w = new SeriesWindow()
    // The snapshot's oldest event is 100 s old: the server's 600 include
    // 500 from the 200 s before it.
    const initial = Array.from({ length: 100 }, (_, i) => at(-1_000 * (i + 1)))
    w.resync(initial, t0, 600)
    expect(w.totals(t0).recent5min).toBe(600)
    // 100 s later half of those 200 unwatched seconds have left the window
    // (and none of the snapshot's own 100 events).
    expect(w.totals(t0 + 100_000).recent5min).toBe(100 + 250)
    expect(w.totals(t0 + 200_000).recent5min).toBe(100)
    expect(w.totals(t0 + 300_000).recent5min).toBe(0)
  })

  it('keeps no rate for a socket that is down', () => {
    const w = new SeriesWindow()
    w.resync([], t0 - 20_000, 0)
    w.add([at(-5_000), at(-4_000)])
    w.pause(t0)
    expect(w.totals(t0).eventsPerSecond).toBeCloseTo(0.2)
    expect(w.totals(t0 + 5_000).eventsPerSecond).toBeCloseTo(2 / 5)
    expect(w.totals(t0 + 10_000).eventsPerSecond).toBeNull()
  })
})
