import type { Stats } from '../api/schema'
import { count, perSecond } from '../format'
import type { LiveTotals } from '../live/series'
import { typeStyle } from './eventStyle'
import { TypeCounts } from './TypeCounts'
import { Card } from './ui/Card'
import { Loading } from './ui/State'

interface Props {
  stats: Stats | null
  /**
   * Events/s and Last 5 min, ticked by the clock (useLiveTotals): the
   * server pushes stats only when they change, so its own rate would stay
   * at its last value once traffic stops.
   */
  live: LiveTotals
}

/** Totals, per-type counts with bars, and the most clicked elements. */
export function Statistics({ stats, live }: Props) {
  if (stats === null) {
    return (
      <Card title="Statistics">
        <Loading>Waiting for the server…</Loading>
      </Card>
    )
  }
  return (
    <Card title="Statistics">
      <dl className="grid grid-cols-2 gap-3">
        <div className="col-span-2 flex flex-col-reverse">
          <dt className="text-xs text-slate-600 dark:text-slate-400">Total Events</dt>
          <dd className="text-3xl font-bold text-blue-700 tabular-nums dark:text-blue-300">
            {count(stats.total_events)}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-600 dark:text-slate-400">Events/s</dt>
          <dd className="text-sm font-medium tabular-nums">{perSecond(live.eventsPerSecond)}</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-600 dark:text-slate-400">Last 5 min</dt>
          <dd className="text-sm font-medium tabular-nums">
            {live.recent5min === null ? '—' : count(live.recent5min)}
          </dd>
        </div>
      </dl>

      <h3 className="mt-4 mb-2 text-sm font-semibold">Event Types</h3>
      <TypeCounts
        counts={stats.event_types}
        name={(type) => typeStyle(type).label}
        empty={<p className="text-xs text-slate-600 dark:text-slate-400">None yet</p>}
      />

      <h3 className="mt-4 mb-2 text-sm font-semibold">Top Clicked Elements</h3>
      {stats.top_elements.length === 0 ? (
        <p className="text-xs text-slate-600 dark:text-slate-400">No clicks yet</p>
      ) : (
        <ol className="space-y-1.5" aria-label="Top clicked elements">
          {stats.top_elements.map((el, i) => (
            <li key={el.element_id} className="flex items-center gap-2 text-xs">
              <span className="w-6 text-slate-600 tabular-nums dark:text-slate-400">#{i + 1}</span>
              <span className="min-w-0 flex-1 truncate">{el.element_id}</span>
              <span className="font-medium tabular-nums">{count(el.count)}</span>
            </li>
          ))}
        </ol>
      )}
    </Card>
  )
}
