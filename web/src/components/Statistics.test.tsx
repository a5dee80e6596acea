import { act, render, screen } from '../test/render'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Stats } from '../api/schema'
import { SeriesWindow } from '../live/series'
import { useLiveTotals } from '../live/useLiveTotals'
import { stats, storedEvent } from '../test/fixtures'
import { Statistics } from './Statistics'

function Live({ series, stats }: { series: SeriesWindow; stats: Stats }) {
  return <Statistics stats={stats} live={useLiveTotals(series)} />
}

// figure reads the value of one of the panel's figures by its label.
function figure(label: string): string {
  const dd = screen.getByText(label, { selector: 'dt' }).parentElement?.querySelector('dd')
  return dd?.textContent ?? ''
}

describe('Statistics', () => {
  const t0 = Date.parse('2026-11-25T10:00:00Z')
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(t0)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  // The server pushes stats only when they change: its last stats_update
  // said 379 events/s, and nothing came after it once traffic stopped.
  it('lets Events/s and Last 5 min fall when nothing arrives', () => {
    const series = new SeriesWindow()
    series.resync([], t0 - 60_000, 0)
    const burst = []
    for (let ms = -10_000; ms < 0; ms += 10) {
      const created = new Date(t0 + ms)
      burst.push(storedEvent({ created_at: created.toISOString(), timestamp: created.toISOString() }))
    }
    series.add(burst, 3.79)
    render(<Live series={series} stats={stats({ events_per_second: 379, recent_5min: 3790 })} />)
    expect(figure('Events/s')).toBe('379')
    expect(figure('Last 5 min')).toBe((3790).toLocaleString())

    act(() => {
      vi.advanceTimersByTime(5_000)
    })
    expect(figure('Events/s')).toBe('190')
    act(() => {
      vi.advanceTimersByTime(6_000)
    })
    expect(figure('Events/s')).toBe('0.0')
    expect(figure('Last 5 min')).toBe((3790).toLocaleString())
    act(() => {
      vi.advanceTimersByTime(290_000)
    })
    expect(figure('Last 5 min')).toBe('0')
  })
})
