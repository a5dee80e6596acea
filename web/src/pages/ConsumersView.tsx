import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { ConsumersHistory } from '../api/schema'
import { MarkerLegend, markersPlugin } from '../components/markers'
import { MembersTable, PartitionsTable } from '../components/GroupTables'
import { Card } from '../components/ui/Card'
import { ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { clockTime, count, seconds } from '../format'
import { useConsumers, useConsumersHistory } from '../hooks/resources'

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
    <div className="grid gap-6 2xl:grid-cols-2">
      <Card title="Consumers" className="2xl:col-span-2">
        {consumers.error && <ErrorText>Could not load the consumer group: {consumers.error}</ErrorText>}
        {v === null ? (
          !consumers.error && <Loading />
        ) : (
          <div className="flex flex-col gap-5">
            <StatList
              label="Group summary"
              columns="grid-cols-2 sm:grid-cols-4 xl:grid-cols-8"
              items={[
                ['Group', v.group],
                ['Topic', v.topic],
                ['State', v.state],
                ['Members', count(v.members.length)],
                ['Total lag', `${count(v.total_lag)} records`],
                ['Max lag', seconds(v.max_lag_seconds)],
                ['Freshness', seconds(v.freshness_seconds)],
                ['Sampled', clockTime(v.sampled_at)],
              ]}
            />
            <div className="grid gap-5 xl:grid-cols-2">
              <MembersTable members={v.members} />
              <PartitionsTable partitions={v.partitions} />
            </div>
          </div>
        )}
      </Card>
      <Card title="Lag History" className="2xl:col-span-2">
        {history.error && <ErrorText>Could not load the lag history: {history.error}</ErrorText>}
        {history.data === null ? !history.error && <Loading /> : <LagHistoryChart history={history.data} />}
      </Card>
    </div>
  )
}
