import { render, screen } from '../test/render'
import { describe, expect, it } from 'vitest'
import { SeriesWindow, type SeriesSnapshot } from '../live/series'
import { storedEvent } from '../test/fixtures'
import { Charts, latencySummary, latencyTop } from './Charts'

function snapshot(p50: (number | null)[], p95: (number | null)[], p99: (number | null)[]): SeriesSnapshot {
  return { times: p50.map((_, i) => i * 5), types: [], rates: [], p50, p95, p99 }
}

describe('latency chart', () => {
  // 8–14 ms of real latency and one Button 4 (a 5 s delay) in view: scaled
  // to the maximum, the real latency drew flat on zero.
  const typical = Array.from({ length: 30 }, (_, i) => 8 + (i % 7))
  const withDelay = snapshot(
    typical,
    typical.map((v) => v + 1),
    typical.map((v, i) => (i === 12 ? 5020 : v + 2)),
  )

  it('scales to the typical values, not to an outlier', () => {
    const top = latencyTop([withDelay.p50, withDelay.p95, withDelay.p99])
    expect(top).toBeGreaterThanOrEqual(16)
    expect(top).toBeLessThan(30)
    // Mostly slow is what is typical: the scale follows.
    expect(latencyTop([Array.from({ length: 10 }, () => 5020)])).toBeGreaterThan(5020)
    expect(latencyTop([[null, 0.4]])).toBe(10)
  })

  it('captions formatted numbers and the points above the scale', () => {
    expect(latencySummary(withDelay)).toBe(
      'latency p50 9.0 ms, p95 10 ms, p99 11 ms; 1 point above the 23 ms scale, highest 5.02 s',
    )
    expect(latencySummary(snapshot([8.44], [9.96], [1234.5]))).toBe('latency p50 8.4 ms, p95 10.0 ms, p99 1.23 s')
    expect(latencySummary(snapshot([null], [null], [null]))).toBe('no latency samples yet')
  })

  it('shows the caption on the page', () => {
    const now = Date.now()
    const series = new SeriesWindow()
    series.resync([], now - 60_000, 0)
    series.add(
      [12, 9, 14].map((latency, i) =>
        storedEvent({
          timestamp: new Date(now - 1000 * (i + 1) - latency).toISOString(),
          created_at: new Date(now - 1000 * (i + 1)).toISOString(),
        }),
      ),
    )
    render(<Charts series={series} eventsPerSecond={1234.5} />)
    screen.getByText(/Now: 1,235 events\/s, latency p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms$/)
  })
})
