import { render, screen, within } from '../test/render'
import { describe, expect, it } from 'vitest'
import type { Marker } from '../api/schema'
import { SeriesWindow } from '../live/series'
import { Charts } from './Charts'
import { MarkerLegend } from './markers'

const markers: Marker[] = [
  { t: '2026-11-25T09:00:00Z', kind: 'dlq_burst', detail: 'old' },
  { t: '2026-11-25T10:00:00Z', kind: 'rebalance', detail: 'pulse-2 joined' },
  { t: '2026-11-25T10:00:05Z', kind: 'commit_stall', detail: 'partition 1' },
  { t: '2026-11-25T10:00:07Z', kind: 'alert_firing', detail: 'Lag: lag_seconds above 5 (value 7)' },
]

describe('markers', () => {
  it('counts the markers in view by kind and names the latest', () => {
    render(<MarkerLegend markers={markers} since={Date.parse('2026-11-25T09:30:00Z')} />)
    const items = within(screen.getByRole('list', { name: 'Chart markers' })).getAllByRole('listitem')
    expect(items.map((i) => i.textContent)).toEqual([
      'Rebalance: 1',
      'Commit stall: 1',
      'DLQ burst: 0',
      'Alert firing: 1',
      'Alert resolved: 0',
      'Rewind: 0',
    ])
    expect(screen.getByText(/Latest marker: Alert firing at .* — Lag: lag_seconds above 5 \(value 7\)/)).toBeTruthy()
  })

  it('the live charts show the legend of the markers that arrived', () => {
    const now = new Date().toISOString()
    render(
      <Charts
        series={new SeriesWindow()}
        eventsPerSecond={null}
        markers={[{ t: now, kind: 'dlq_burst', detail: '12 records in 5 s' }]}
      />,
    )
    const items = within(screen.getByRole('list', { name: 'Chart markers' })).getAllByRole('listitem')
    expect(items.map((i) => i.textContent)).toEqual([
      'Rebalance: 0',
      'Commit stall: 0',
      'DLQ burst: 1',
      'Alert firing: 0',
      'Alert resolved: 0',
      'Rewind: 0',
    ])
    expect(screen.getByRole('img', { name: 'Events per second by type, last 15 min' })).toBeTruthy()
  })
})
