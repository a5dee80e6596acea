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
    const e = at(1000, 10)
    w.add([e])
    w.addInitial([e, at(500, 10)])
    const s = w.snapshot(t0 + 5_000)
    expect(s.rates[0][s.times.indexOf(t0 / 1000)]).toBeCloseTo(1 / 5)
    const later = w.snapshot(t0 + 120_000)
    expect(later.rates[0].every((r) => r === 0)).toBe(true)
  })

  it('quantile uses the nearest rank', () => {
    expect(quantile([], 0.5)).toBeNull()
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2)
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4)
  })
})
