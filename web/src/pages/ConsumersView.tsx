import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import { AXIS, CHART_TEXT, TIME_SERIES } from '../components/chartAxis'
import 'uplot/dist/uPlot.min.css'
import { isRange, type ConsumersHistory, type Range } from '../api/schema'
import { useRouteParams } from '../hooks/route'
import { MarkerLegend, markersPlugin } from '../components/markers'
import { RangePicker, rangeLabel } from '../components/RangePicker'
import { MembersTable, PartitionsTable } from '../components/GroupTables'
import { RewindCard } from '../components/RewindCard'
import { Card } from '../components/ui/Card'
import { ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { clockTime, count, seconds, span } from '../format'
import { useConsumers, useConsumersHistory } from '../hooks/resources'

const HEIGHT = 220

function historyData(h: ConsumersHistory): uPlot.AlignedData {
  const pts = h.points.filter((p) => !Number.isNaN(Date.parse(p.t)))
  return [pts.map((p) => Date.parse(p.t) / 1000), pts.map((p) => p.total_lag), pts.map((p) => p.max_lag_seconds)]
}

/**
 * The x range of the lag chart: from the first point (one step before it)
 * to the range's end, so that a history younger than the range is drawn
 * across the chart rather than as a dot at its edge; the whole range when
 * there is no point yet.
 */
export function lagXRange(h: ConsumersHistory): [number, number] {
  const from = Date.parse(h.from) / 1000
  const to = Date.parse(h.to) / 1000
  const first = h.points.length > 0 ? Date.parse(h.points[0].t) / 1000 - h.step_seconds : from
  return [Math.max(from, Math.min(first, to - h.step_seconds * 10)), to]
}

function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`
}

/**
 * The lag in records and seconds over a range, read from the store (kept
 * across restarts), with rebalances, commit stalls, DLQ bursts and rewinds
 * marked.
 * Drag across the chart to zoom in; double-click to zoom out.
 */
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
      cursor: { drag: { x: true, y: false } },
      scales: {
        // Zoomed to the data, within the range; a drag zooms further.
        x: { time: true, range: (_u, min, max) => (min === max ? lagXRange(latest.current) : [min, max]) },
        lag: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        sec: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        AXIS,
        { ...AXIS, scale: 'lag', label: 'records', size: 60 },
        { ...AXIS, scale: 'sec', label: 'seconds', side: 1, size: 50, grid: { show: false } },
      ],
      series: [
        TIME_SERIES,
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
    const u = plot.current
    if (u === null) return
    // New data resets a zoom only when the range changed.
    const zoomed = u.scales.x.min !== undefined && u.scales.x.min > Date.parse(history.from) / 1000
    u.setData(historyData(history), false)
    const [min, max] =
      zoomed && u.scales.x.min !== undefined && u.scales.x.max !== undefined
        ? [u.scales.x.min, u.scales.x.max]
        : lagXRange(history)
    u.setScale('x', { min, max })
  }, [history])

  const last = rangeLabel(history.range)
  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">
        Lag over the last {last}: {plural(history.points.length, 'point', 'points')}
        {history.points.length > 0 &&
          `, each the highest of its ${span(history.step_seconds)} (sampled every ${span(history.interval_seconds)})`}
      </figcaption>
      <div
        ref={el}
        className={`w-full overflow-hidden ${CHART_TEXT}`}
        role="img"
        aria-label={`Consumer lag history, last ${last}`}
      />
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
  // The range is the URL's, so a link shows the same span.
  const [params, setParams] = useRouteParams()
  const asked = params.get('range')
  const range: Range = isRange(asked) ? asked : '1h'
  const setRange = (r: Range) => setParams({ range: r === '1h' ? null : r }, { replace: true })
  const history = useConsumersHistory(range, historyPollMs)
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
      <Card
        title="Lag History"
        className="2xl:col-span-2"
        actions={<RangePicker value={range} onChange={setRange} label="Lag history range" />}
      >
        {history.error && <ErrorText>Could not load the lag history: {history.error}</ErrorText>}
        {history.data === null ? !history.error && <Loading /> : <LagHistoryChart history={history.data} />}
      </Card>
      <RewindCard />
    </div>
  )
}
