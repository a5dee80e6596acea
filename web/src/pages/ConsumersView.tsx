import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { ConsumersHistory } from '../api/schema'
import { MarkerLegend, markersPlugin } from '../components/markers'
import { Panel } from '../components/Panel'
import { clockTime, count, seconds } from '../format'
import { useConsumers, useConsumersHistory } from '../hooks/resources'
import { ErrorText, ROW, TD, TH } from '../console/ui'

const HEIGHT = 220
const HOUR_S = 3600

const AXIS: uPlot.Axis = {
  stroke: '#94a3b8',
  grid: { stroke: 'rgba(148,163,184,0.18)', width: 1 },
  ticks: { stroke: 'rgba(148,163,184,0.3)', width: 1 },
}

function historyData(h: ConsumersHistory): uPlot.AlignedData {
  const pts = h.points.filter((p) => !Number.isNaN(Date.parse(p.t)))
  return [pts.map((p) => Date.parse(p.t) / 1000), pts.map((p) => p.total_lag), pts.map((p) => p.max_lag_seconds)]
}

/** The last hour of lag in records and seconds, with rebalances, commit stalls and DLQ bursts marked. */
export function LagHistoryChart({ history }: { history: ConsumersHistory }) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  // The marker plugin reads the newest history on each redraw.
  const latest = useRef(history)

  useEffect(() => {
    const host = el.current
    if (host === null) return
    const width = () => Math.max(200, host.clientWidth)
    const opts: uPlot.Options = {
      width: width(),
      height: HEIGHT,
      plugins: [markersPlugin(() => latest.current.markers)],
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Always the last hour, however few samples there are yet.
        x: { time: true, range: () => [Date.now() / 1000 - HOUR_S, Date.now() / 1000] },
        lag: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        sec: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        AXIS,
        { ...AXIS, scale: 'lag', label: 'records', size: 60 },
        { ...AXIS, scale: 'sec', label: 'seconds', side: 1, size: 50, grid: { show: false } },
      ],
      series: [
        {},
        { label: 'Total lag (records)', scale: 'lag', stroke: '#3b82f6', width: 2, points: { show: false } },
        {
          label: 'Max lag (s)',
          scale: 'sec',
          stroke: '#f97316',
          width: 2,
          points: { show: false },
          value: (_u, v) => (v === null ? '—' : `${v.toFixed(1)} s`),
        },
      ],
    }
    const u = new uPlot(opts, historyData(latest.current), host)
    plot.current = u
    const resize = new ResizeObserver(() => u.setSize({ width: width(), height: HEIGHT }))
    resize.observe(host)
    return () => {
      resize.disconnect()
      u.destroy()
      plot.current = null
    }
  }, [])

  useEffect(() => {
    latest.current = history
    plot.current?.setData(historyData(history))
  }, [history])

  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">
        Lag over the last hour ({history.points.length} samples, every {history.interval_seconds} s)
      </figcaption>
      <div ref={el} className="w-full overflow-hidden" role="img" aria-label="Consumer lag history, last hour" />
      <MarkerLegend markers={history.markers} />
    </figure>
  )
}

interface Props {
  pollMs?: number
  historyPollMs?: number
}

/** The consumer group in detail: state, members, partitions with lag in records and seconds, and lag history. */
export function ConsumersView({ pollMs = 3000, historyPollMs = 5000 }: Props) {
  const consumers = useConsumers(pollMs)
  const history = useConsumersHistory(historyPollMs)
  const v = consumers.data

  return (
    <div className="flex flex-col gap-6">
      <Panel title="Consumers">
        {consumers.error && <ErrorText>Could not load the consumer group: {consumers.error}</ErrorText>}
        {v === null ? (
          !consumers.error && <p className="text-sm text-slate-500 dark:text-slate-400">Loading…</p>
        ) : (
          <div className="flex flex-col gap-4">
            <dl aria-label="Group summary" className="grid grid-cols-2 gap-3 sm:grid-cols-4">
              {(
                [
                  ['Group', v.group],
                  ['Topic', v.topic],
                  ['State', v.state],
                  ['Members', count(v.members.length)],
                  ['Total lag', `${count(v.total_lag)} records`],
                  ['Max lag', seconds(v.max_lag_seconds)],
                  ['Freshness', seconds(v.freshness_seconds)],
                  ['Sampled', clockTime(v.sampled_at)],
                ] as const
              ).map(([k, val]) => (
                <div key={k} className="min-w-0">
                  <dt className="text-[11px] text-slate-500 dark:text-slate-400">{k}</dt>
                  <dd className="truncate text-sm font-medium">{val}</dd>
                </div>
              ))}
            </dl>
            <div className="relative overflow-x-auto">
              <table className="w-full">
                <caption className="mb-1 text-left text-sm font-medium">Members</caption>
                <thead>
                  <tr>
                    <th className={TH}>Client</th>
                    <th className={TH}>Host</th>
                    <th className={TH}>Partitions</th>
                    <th className={TH}>Here</th>
                    <th className={TH}>Processed</th>
                    <th className={TH}>Retried</th>
                    <th className={TH}>DLQ</th>
                    <th className={TH}>In flight</th>
                    <th className={TH}>Last commit</th>
                  </tr>
                </thead>
                <tbody>
                  {v.members.length === 0 ? (
                    <tr>
                      <td colSpan={9} className={`${TD} text-slate-500`}>
                        No members
                      </td>
                    </tr>
                  ) : (
                    v.members.map((m) => (
                      <tr key={m.member_id} className={ROW}>
                        <td className={`${TD} font-mono`} title={m.member_id}>
                          {m.client_id || m.member_id}
                        </td>
                        <td className={TD}>{m.host || '—'}</td>
                        <td className={TD}>{m.partitions.length ? m.partitions.join(', ') : '—'}</td>
                        <td className={TD}>{m.local ? 'this process' : 'remote'}</td>
                        <td className={TD}>{m.processed === undefined ? '—' : count(m.processed)}</td>
                        <td className={TD}>{m.retried === undefined ? '—' : count(m.retried)}</td>
                        <td className={TD}>{m.dead_lettered === undefined ? '—' : count(m.dead_lettered)}</td>
                        <td className={TD}>{m.in_flight === undefined ? '—' : count(m.in_flight)}</td>
                        <td className={TD}>{clockTime(m.last_commit_at)}</td>
                      </tr>
                    ))
                  )}
                </tbody>
              </table>
            </div>
            <div className="relative overflow-x-auto">
              <table className="w-full">
                <caption className="mb-1 text-left text-sm font-medium">Partitions</caption>
                <thead>
                  <tr>
                    <th className={TH}>Partition</th>
                    <th className={TH}>Owner</th>
                    <th className={TH}>Committed</th>
                    <th className={TH}>End</th>
                    <th className={TH}>Lag</th>
                    <th className={TH}>Lag (s)</th>
                    <th className={TH}>Lowest unfinished</th>
                  </tr>
                </thead>
                <tbody>
                  {v.partitions.map((p) => (
                    <tr key={p.partition} className={ROW}>
                      <td className={TD}>{p.partition}</td>
                      <td className={`${TD} font-mono`}>{p.member || '—'}</td>
                      <td className={TD}>{p.committed_offset < 0 ? '—' : count(p.committed_offset)}</td>
                      <td className={TD}>{count(p.end_offset)}</td>
                      <td className={`${TD} ${p.lag > 0 ? 'font-semibold text-amber-700 dark:text-amber-300' : ''}`}>
                        {count(p.lag)}
                      </td>
                      <td className={TD}>{seconds(p.lag_seconds)}</td>
                      <td className={TD}>{p.lowest_unfinished === null ? '—' : count(p.lowest_unfinished)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </Panel>
      <Panel title="Lag History">
        {history.error && <ErrorText>Could not load the lag history: {history.error}</ErrorText>}
        {history.data === null ? (
          !history.error && <p className="text-sm text-slate-500 dark:text-slate-400">Loading…</p>
        ) : (
          <LagHistoryChart history={history.data} />
        )}
      </Panel>
    </div>
  )
}
