import type { Live, Trend } from '../api/schema'
import { keys } from '../api/queries'
import { Card } from '../components/ui/Card'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime } from '../format'
import { useLive } from '../hooks/resources'
import { useLiveRefresh } from '../hooks/useLiveRefresh'
import { TrendChart } from './InsightsPage'

/** The live minutes as a trend the trends chart draws: the events and the users of each minute. */
export function liveTrend(l: Live): Trend {
  const buckets = l.minutes.map((m) => m.start)
  return {
    interval: 'minute',
    breakdown: '',
    measure: 'count',
    exact: true,
    current: {
      from: buckets[0] ?? l.now,
      to: l.now,
      buckets,
      series: [
        { key: '', total: l.events_30m, counts: l.minutes.map((m) => m.events) },
        { key: 'users', total: l.users_30m, counts: l.minutes.map((m) => m.users) },
      ],
      total: l.events_30m,
    },
    previous: null,
  }
}

const topColumns = (what: string): Column<{ key: string; events: number }>[] => [
  { header: what, cell: (r) => r.key },
  { header: 'Events', cell: (r) => count(r.events) },
]

/** Who is on the site now: users, sessions and events of the last 5 and 30 minutes, per minute, and what they look at. */
export function LivePage({
  pollMs = 10_000,
  stored = null,
  liveMs = 2_000,
}: {
  pollMs?: number
  /** The stored events the live socket last counted: when it moves, the panel is asked for again. */
  stored?: number | null
  liveMs?: number
}) {
  const live = useLive(pollMs)
  useLiveRefresh(keys.live, stored, liveMs)
  const l = live.data
  return (
    <div className="flex flex-col gap-6">
      <Card title="Now">
        {live.error && <ErrorText>Could not load the live panel: {live.error}</ErrorText>}
        {l === null ? (
          !live.error && <Loading />
        ) : (
          <div className="flex flex-col gap-4">
            <StatList
              label="Now"
              columns="grid-cols-2 sm:grid-cols-3 lg:grid-cols-6"
              items={[
                ['Users, last 5 min', count(l.users_5m)],
                ['Users, last 30 min', count(l.users_30m)],
                ['Sessions, last 5 min', count(l.sessions_5m)],
                ['Sessions, last 30 min', count(l.sessions_30m)],
                ['Events, last 5 min', count(l.events_5m)],
                ['Events, last 30 min', count(l.events_30m)],
              ]}
            />
            <p role="status" className="text-sm text-slate-600 dark:text-slate-400">
              As of {dateTime(l.now)}, by the time each event happened; the last minute is still filling.{' '}
              {stored === null ? `Refreshed every ${Math.round(pollMs / 1000)} s.` : 'Updated as events are stored.'}
            </p>
            {l.events_30m === 0 ? (
              <Empty>No events in the last 30 minutes.</Empty>
            ) : (
              <TrendChart trend={liveTrend(l)} />
            )}
          </div>
        )}
      </Card>
      {l !== null && (
        <div className="grid gap-6 lg:grid-cols-2">
          <Card title="Top pages, last 5 minutes">
            <DataTable
              caption="Top pages, last 5 minutes"
              columns={topColumns('Page')}
              rows={l.top_pages}
              rowKey={(r) => r.key}
              empty={<Empty>No page views in the last 5 minutes.</Empty>}
            />
          </Card>
          <Card title="Top elements, last 5 minutes">
            <DataTable
              caption="Top elements, last 5 minutes"
              columns={topColumns('Element')}
              rows={l.top_elements}
              rowKey={(r) => r.key}
              empty={<Empty>No events with an element in the last 5 minutes.</Empty>}
            />
          </Card>
        </div>
      )}
    </div>
  )
}
