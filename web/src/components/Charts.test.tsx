import userEvent from '@testing-library/user-event'
import { render, screen } from '../test/render'
import { describe, expect, it } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { SeriesWindow, type SeriesSnapshot } from '../live/series'
import { storedEvent } from '../test/fixtures'
import { Charts, latencySummary, latencyTop, syncSeries } from './Charts'

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

describe('stored history', () => {
  // What GET /api/series/ answers: a page that received nothing itself (a
  // reload) draws it.
  function answer(range: string) {
    const to = Math.floor(Date.now() / 10_000) * 10
    return {
      range,
      step_seconds: 10,
      from: new Date((to - 30) * 1000).toISOString(),
      to: new Date(to * 1000).toISOString(),
      times: [to - 30, to - 20, to - 10],
      events: { click: [10, 20, 30] },
      latency_ms: { p50: [8, 9, 212.5], p95: [12, 13, 300], p99: [20, 21, 400], samples: [10, 20, 30] },
    }
  }

  it('draws the stored series on a page that received nothing, and asks for the range picked', async () => {
    window.history.replaceState(null, '', '/#/')
    const calls = stubFetch(({ url }) => json(answer(url.slice(url.indexOf('=') + 1))))
    const user = userEvent.setup()
    render(<Charts series={new SeriesWindow()} eventsPerSecond={null} />)
    expect(await screen.findByText(/From the stored history, extended live/)).toBeTruthy()
    // The newest stored step's percentiles, though no event arrived live.
    expect(await screen.findByText(/latency p50 213 ms, p95 300 ms, p99 400 ms/)).toBeTruthy()
    await user.click(screen.getByRole('radio', { name: '24 h' }))
    expect(await screen.findByRole('img', { name: 'Events per second by type, last 24 h' })).toBeTruthy()
    expect(calls.map((c) => c.url)).toEqual(['/api/series/?range=15m', '/api/series/?range=24h'])
    expect(window.location.hash).toBe('#/?chart_range=24h')
    window.history.replaceState(null, '', '/#/')
  })

  it('says when the stored history cannot be read, and draws what the page received', async () => {
    stubFetch(() => json({ error: 'database unavailable' }, 503))
    render(<Charts series={new SeriesWindow()} eventsPerSecond={null} />)
    expect(
      await screen.findByText(/The stored history could not be read .*showing what this page received/),
    ).toBeTruthy()
  })
})

describe('rate chart series', () => {
  // A chart whose series are the labels, as uPlot keeps them (0 is time).
  function chart(types: string[]) {
    const series = ['time', ...types]
    return {
      series,
      addSeries: (s: { label?: string }, i?: number) => void series.splice(i ?? series.length, 0, s.label ?? ''),
      delSeries: (i: number) => void series.splice(i, 1),
    }
  }

  it.each([
    [
      ['a', 'c'],
      ['a', 'b', 'c'],
    ],
    [['a', 'b', 'c'], ['b']],
    [[], ['x', 'y']],
    [
      ['b', 'd'],
      ['a', 'c', 'd', 'e'],
    ],
    [['a', 'b'], []],
  ])('goes from %j to %j in place', (shown, wanted) => {
    const u = chart(shown)
    syncSeries(u, shown, wanted)
    expect(u.series).toEqual(['time', ...wanted])
  })
})
