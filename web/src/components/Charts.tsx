import { useQuery } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import uPlot from 'uplot'
import { AXIS, CHART_TEXT, TIME_SERIES } from './chartAxis'
import 'uplot/dist/uPlot.min.css'
import { seriesQuery } from '../api/queries'
import { isRange, type Marker, type Range, type Series } from '../api/schema'
import { useRouteParams } from '../hooks/route'
import { count, ms, perSecond, span as stepSpan } from '../format'
import { quantile, type SeriesSnapshot, type SeriesWindow } from '../live/series'
import { joinSeries } from './chartData'
import { typeStyle } from './eventStyle'
import { MarkerLegend, markersPlugin } from './markers'
import { RangePicker, rangeLabel } from './RangePicker'
import { Card } from './ui/Card'

// Charts redraw at most twice a second whatever the event rate.
const REDRAW_MS = 500
const HEIGHT = 200

/** The x range of the charts: the selected span ending now. */
type XRange = () => [number, number]

function rateSeries(type: string): uPlot.Series {
  return {
    label: type,
    stroke: typeStyle(type).color,
    width: 2,
    points: { show: false },
    value: (_u: uPlot, v: number | null) => perSecond(v),
  }
}

/**
 * Changes the rate chart's series from the types shown to the types
 * wanted (both sorted) in place: rebuilding the chart for a type that
 * came or went took 44 ms of the main thread at 5,000 events/s, adding
 * or removing one series takes a redraw.
 */
export function syncSeries(
  u: Pick<uPlot, 'addSeries' | 'delSeries'>,
  shown: readonly string[],
  wanted: readonly string[],
) {
  const keep = new Set(wanted)
  for (let i = shown.length - 1; i >= 0; i--) if (!keep.has(shown[i])) u.delSeries(i + 1)
  const had = new Set(shown)
  wanted.forEach((t, i) => {
    if (!had.has(t)) u.addSeries(rateSeries(t), i + 1)
  })
}

function rateOptions(types: string[], width: number, markers: () => readonly Marker[], x: XRange): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    plugins: [markersPlugin(markers)],
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: x },
      // Every rate can be a gap (nothing watched yet): uPlot then passes no max.
      y: { range: (_u, _min, max) => [0, Number.isFinite(max) ? Math.max(1, max * 1.1) : 1] },
    },
    axes: [AXIS, { ...AXIS, label: 'events/s', size: 50 }],
    series: [TIME_SERIES, ...types.map(rateSeries)],
  }
}

/**
 * The top of the latency chart's scale: 1.5 times the 90th percentile of
 * the points in view, at least 10 ms. Scaled to its maximum, one Button 4
 * (a 5 s delay) flattened 8–14 ms of real latency onto zero for 15 minutes.
 * A Grafana user expects the axis to show the bulk of the data, linearly so
 * that distances compare, with the few points above it visibly cut off
 * rather than hidden; a log scale would keep them in range but squeeze
 * 8–14 ms into a sliver and cannot show 0. The points above the top are
 * marked on the top edge (latencyClipPlugin), keep their real value in the
 * legend, and are counted in the caption. When more than a tenth of the
 * points are high, they are the typical values and the scale follows them.
 */
export function latencyTop(series: readonly ArrayLike<number | null | undefined>[]): number {
  const values: number[] = []
  for (const s of series) {
    for (let i = 0; i < s.length; i++) {
      const v = s[i]
      if (v !== null && v !== undefined) values.push(v)
    }
  }
  values.sort((a, b) => a - b)
  return Math.max(10, (quantile(values, 0.9) ?? 0) * 1.5)
}

// latencyClipPlugin draws a small triangle on the top edge above each point
// higher than the scale, in its series' colour.
function latencyClipPlugin(): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const top = u.scales.y.max
          if (top === undefined) return
          const { ctx, bbox } = u
          const size = 5 * devicePixelRatio
          ctx.save()
          for (let i = 1; i < u.series.length; i++) {
            const stroke = u.series[i].stroke
            ctx.fillStyle = typeof stroke === 'function' ? stroke(u, i) : (stroke ?? '#ef4444')
            u.data[i].forEach((v, j) => {
              if (v === null || v === undefined || v <= top) return
              const x = u.valToPos(u.data[0][j], 'x', true)
              ctx.beginPath()
              ctx.moveTo(x, bbox.top)
              ctx.lineTo(x - size, bbox.top + size * 1.6)
              ctx.lineTo(x + size, bbox.top + size * 1.6)
              ctx.closePath()
              ctx.fill()
            })
          }
          ctx.restore()
        },
      ],
    },
  }
}

function latencyOptions(width: number, x: XRange): uPlot.Options {
  const line = (label: string, stroke: string): uPlot.Series => ({
    label,
    stroke,
    width: 2,
    spanGaps: true,
    points: { show: true, size: 4 },
    value: (_u, v) => ms(v),
  })
  return {
    width,
    height: HEIGHT,
    plugins: [latencyClipPlugin()],
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: x }, y: { range: (u) => [0, latencyTop(u.data.slice(1))] } },
    axes: [AXIS, { ...AXIS, label: 'ms', size: 60 }],
    series: [TIME_SERIES, line('p50', '#22c55e'), line('p95', '#f59e0b'), line('p99', '#ef4444')],
  }
}

function lastValue(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]
  return null
}

/** The caption's latency part: the newest percentiles, and the points drawn above the scale. */
export function latencySummary(s: SeriesSnapshot): string {
  const [p50, p95, p99] = [lastValue(s.p50), lastValue(s.p95), lastValue(s.p99)]
  if (p50 === null && p95 === null && p99 === null) return 'no latency samples yet'
  const lines = [s.p50, s.p95, s.p99]
  const top = latencyTop(lines)
  const above = lines.flat().filter((v): v is number => v !== null && v > top)
  const clipped =
    above.length === 0
      ? ''
      : `; ${count(above.length)} ${above.length === 1 ? 'point' : 'points'} above the ${ms(top)} scale, highest ${ms(Math.max(...above))}`
  return `latency p50 ${ms(p50)}, p95 ${ms(p95)}, p99 ${ms(p99)}${clipped}`
}

interface Props {
  series: SeriesWindow
  /** Rebalances, commit stalls and DLQ bursts, drawn on the rate chart. */
  markers?: readonly Marker[]
  /** The page's live rate (useLiveTotals), the same figure as the statistics panel's. */
  eventsPerSecond: number | null
  /** The span shown at first. */
  initialRange?: Range
}

const SPAN_S: Record<Range, number> = { '15m': 900, '1h': 3600, '6h': 21_600, '24h': 86_400, '7d': 604_800 }
const NO_MARKERS: readonly Marker[] = []

/**
 * Events per second by type and end-to-end latency percentiles over a
 * range: the server's series (kept in the store for 8 days, so a reload or
 * a restart keeps them), extended live on the 15-minute range.
 */
export function Charts({ series, markers = NO_MARKERS, eventsPerSecond, initialRange = '15m' }: Props) {
  // The range is the URL's (chart_range), so a link shows the same span.
  const [params, setParams] = useRouteParams()
  const asked = params.get('chart_range')
  const range: Range = isRange(asked) ? asked : initialRange
  const setRange = (r: Range) => setParams({ chart_range: r === initialRange ? null : r }, { replace: true })
  const history = useQuery(seriesQuery(range, SPAN_S[range] * 1000 < 3_600_000 ? 10_000 : 60_000))
  // The draw loop reads the newest answer and range on each redraw.
  const serverRef = useRef<Series | undefined>(undefined)
  const rangeRef = useRef(range)
  useEffect(() => {
    // An answer for another range (the previous one, kept while the new one loads) is not drawn.
    serverRef.current = history.data?.range === range ? history.data : undefined
    rangeRef.current = range
  }, [history.data, range])
  // The chart's marker plugin reads the newest markers on each redraw.
  const markersRef = useRef(markers)
  useEffect(() => {
    markersRef.current = markers
  }, [markers])
  const rateRef = useRef<HTMLDivElement>(null)
  const latRef = useRef<HTMLDivElement>(null)
  const [caption, setCaption] = useState('')
  // The start of the charts' window at the last redraw: the legend counts the markers in it.
  const [since, setSince] = useState(0)

  useEffect(() => {
    const rateEl = rateRef.current
    const latEl = latRef.current
    if (rateEl === null || latEl === null) return
    let rate: uPlot | null = null
    let latency: uPlot | null = null
    let shown: string[] = []
    const width = () => Math.max(200, rateEl.clientWidth)
    const x: XRange = () => {
      const now = Date.now() / 1000
      return [now - SPAN_S[rangeRef.current], now]
    }

    const draw = () => {
      const now = Date.now()
      const snap = joinSeries(serverRef.current, series.snapshot(now))
      if (rate === null) {
        rate = new uPlot(
          rateOptions(snap.types, width(), () => markersRef.current, x),
          [snap.times, ...snap.rates],
          rateEl,
        )
      } else {
        if (snap.types.join(',') !== shown.join(',')) syncSeries(rate, shown, snap.types)
        rate.setData([snap.times, ...snap.rates])
      }
      shown = snap.types
      const latData: uPlot.AlignedData = [snap.times, snap.p50, snap.p95, snap.p99]
      if (latency === null) latency = new uPlot(latencyOptions(width(), x), latData, latEl)
      else latency.setData(latData)
      setCaption(latencySummary(snap))
      setSince(now - SPAN_S[rangeRef.current] * 1000)
    }
    draw()
    const timer = setInterval(draw, REDRAW_MS)
    const resize = new ResizeObserver(() => {
      rate?.setSize({ width: width(), height: HEIGHT })
      latency?.setSize({ width: width(), height: HEIGHT })
    })
    resize.observe(rateEl)
    return () => {
      clearInterval(timer)
      resize.disconnect()
      rate?.destroy()
      latency?.destroy()
    }
  }, [series])

  const span = rangeLabel(range)
  const source =
    history.error !== null
      ? `The stored history could not be read (${history.error.message}); showing what this page received.`
      : history.data === undefined
        ? 'Loading the stored history…'
        : range === '15m'
          ? 'From the stored history, extended live; latency is stored time minus event time.'
          : `From the stored history, in steps of ${stepSpan(history.data.step_seconds)}; latency is stored time minus event time.`
  return (
    <Card title="Live Charts" actions={<RangePicker value={range} onChange={setRange} label="Chart range" />}>
      <p className="mb-3 text-xs text-slate-600 dark:text-slate-400" aria-live="off">
        Last {span}. {source} Now: {perSecond(eventsPerSecond)} events/s, {caption}
      </p>
      {/* grid-cols-1 is minmax(0, 1fr): a canvas drawn for a wider page must not hold the column wide. */}
      <div className="grid grid-cols-1 gap-6 2xl:grid-cols-2">
        <figure>
          <figcaption className="mb-1 text-sm font-medium">Events per second by type</figcaption>
          <div
            ref={rateRef}
            className={`w-full overflow-hidden ${CHART_TEXT}`}
            role="img"
            aria-label={`Events per second by type, last ${span}`}
          />
          <MarkerLegend markers={markers} since={since} />
        </figure>
        <figure>
          <figcaption className="mb-1 text-sm font-medium">End-to-end latency (p50, p95, p99)</figcaption>
          <div
            ref={latRef}
            className={`w-full overflow-hidden ${CHART_TEXT}`}
            role="img"
            aria-label={`End-to-end latency percentiles, last ${span}`}
          />
        </figure>
      </div>
    </Card>
  )
}
