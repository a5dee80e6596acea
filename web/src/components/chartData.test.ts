import { describe, expect, it } from 'vitest'
import type { Series } from '../api/schema'
import type { SeriesSnapshot } from '../live/series'
import { joinSeries } from './chartData'

// A server answer of three 10 s steps ending at 1030 s.
function server(): Series {
  return {
    range: '15m',
    step_seconds: 10,
    from: new Date(1000_000).toISOString(),
    to: new Date(1030_000).toISOString(),
    times: [1000, 1010, 1020],
    events: { click: [10, 0, 20] },
    latency_ms: { p50: [8, null, 9], p95: [12, null, 14], p99: [20, null, 30], samples: [10, 0, 20] },
  }
}

function live(times: number[], view: (number | null)[]): SeriesSnapshot {
  return {
    times,
    types: ['view'],
    rates: [view],
    p50: times.map(() => 5),
    p95: times.map(() => 6),
    p99: times.map(() => 7),
  }
}

describe('joinSeries', () => {
  it('draws the server steps as rates, then the complete live buckets after them', () => {
    // 1020 is the server's already; 1040 is still filling (null).
    const got = joinSeries(server(), live([1020, 1030, 1040], [9, 0.5, null]))
    expect(got.times).toEqual([1000, 1010, 1020, 1030])
    expect(got.types).toEqual(['click', 'view'])
    expect(got.rates[0]).toEqual([1, 0, 2, 0])
    expect(got.rates[1]).toEqual([0, 0, 0, 0.5])
    expect(got.p50).toEqual([8, null, 9, 5])
  })

  it('draws the live window alone until the server answers', () => {
    const l = live([1000, 1010], [1, 2])
    expect(joinSeries(undefined, l)).toBe(l)
  })

  it('rates a step still filling over the part of it the answer covers', () => {
    // to = 1025: the last step, 1020, covers 5 s.
    const got = joinSeries({ ...server(), to: new Date(1025_000).toISOString() }, live([], []))
    expect(got.rates[0]).toEqual([1, 0, 4])
  })

  it('appends nothing live to a range with wider steps', () => {
    const s = { ...server(), step_seconds: 600, times: [0], events: { click: [60] } }
    s.latency_ms = { p50: [1], p95: [1], p99: [1], samples: [60] }
    const got = joinSeries(s, live([1030, 1040], [1, 1]))
    expect(got.times).toEqual([0])
    expect(got.rates).toEqual([[0.1], [0]])
  })
})
