import { useEffect, useId, useMemo, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { TrendRequest } from '../api/client'
import {
  TREND_BREAKDOWNS,
  TREND_INTERVALS,
  TREND_MEASURES,
  TREND_RANGES,
  type Trend,
  type TrendMeasure,
  type TrendRange,
} from '../api/schema'
import { AXIS, CHART_TEXT } from '../components/chartAxis'
import { typeStyle } from '../components/eventStyle'
import {
  FIELD_LABELS,
  FieldPicker,
  FilterRow,
  fieldProblem,
  filterOfParam,
  filterParam,
  filterProblem,
  trendFilter,
  type FilterDraft,
} from '../components/Filters'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { Field, Hint, Label, Select } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime } from '../format'
import { useRouteParams } from '../hooks/route'
import { useLiveRefresh } from '../hooks/useLiveRefresh'
import { useTrend } from '../hooks/resources'
import { keys } from '../api/queries'
import { useSettled } from '../hooks/useSettled'
import { SaveInsight } from '../components/SaveInsight'
import { KeptProperties } from '../components/KeptProperties'

const RANGE_LABELS: Record<TrendRange, string> = {
  '30m': 'Last 30 minutes',
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
}
const MEASURE_LABELS: Record<TrendMeasure, string> = {
  count: 'Events',
  users: 'Users',
  sessions: 'Sessions',
}
/** What a count counts, in the singular and the plural. */
const MEASURE_NOUNS: Record<TrendMeasure, [string, string]> = {
  count: ['event', 'events'],
  users: ['user', 'users'],
  sessions: ['session', 'sessions'],
}

// Breakdown values get these in order; event types keep their own colour.
const PALETTE = ['#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626', '#4b5563']

const isOf =
  <T extends string>(list: readonly T[]) =>
  (v: string | null): v is T =>
    v !== null && (list as readonly string[]).includes(v)
const isRange = isOf(TREND_RANGES)
const isInterval = isOf(TREND_INTERVALS)
const isMeasure = isOf(TREND_MEASURES)

/** A breakdown's name in a table header: Page, properties.plan. */
function breakdownLabel(b: string): string {
  return FIELD_LABELS[b] ?? b
}

/** The filters a URL's `where` parameters hold; ones that do not parse are left out. */
function filtersOf(where: readonly string[]): FilterDraft[] {
  return where.map(filterOfParam).filter((f): f is FilterDraft => f !== null)
}

/**
 * The trend a page's URL parameters ask for, and what keeps it from being
 * asked (a filter not whole, a bad property key), or null. The trends page
 * and a pinned trend read the same parameters.
 */
export function trendRequestOf(params: URLSearchParams): { req: TrendRequest; problem: string | null } {
  const range = params.get('range')
  const interval = params.get('interval')
  const measure = params.get('measure')
  const asked = params.get('breakdown') ?? ''
  const filters = filtersOf(params.getAll('where'))
  const breakdownProblem =
    asked === '' || (TREND_BREAKDOWNS as readonly string[]).includes(asked) ? null : fieldProblem(asked)
  const problem = filters.map(filterProblem).find((p) => p !== null) ?? breakdownProblem
  return {
    req: {
      types: params.getAll('type'),
      range: isRange(range) ? range : '24h',
      interval: isInterval(interval) ? interval : '',
      breakdown: breakdownProblem === null ? asked : '',
      compare: params.get('compare') === 'previous',
      measure: isMeasure(measure) ? measure : 'count',
      filters: problem === null ? filters.map(trendFilter) : [],
    },
    problem,
  }
}

/** A series' name on the page: what an empty key means depends on the trend. */
export function seriesName(key: string, trend: Pick<Trend, 'breakdown' | 'measure'>): string {
  if (key !== '') return key
  return trend.breakdown === '' ? `All ${MEASURE_NOUNS[trend.measure][1]}` : '(none)'
}

/** The change from the previous period, as a signed percentage, or a dash when there was nothing to compare with. */
export function change(now: number, before: number | undefined): string {
  if (before === undefined || before === 0) return now === 0 ? '0%' : '—'
  const pct = ((now - before) / before) * 100
  return `${pct > 0 ? '+' : ''}${pct.toFixed(Math.abs(pct) < 10 ? 1 : 0)}%`
}

/** The chart's columns: the buckets, each series, and the previous period's on the same buckets. */
export function trendData(t: Trend): uPlot.AlignedData {
  const x = t.current.buckets.map((b) => Date.parse(b) / 1000)
  const cols: number[][] = t.current.series.map((s) => s.counts)
  if (t.previous !== null) {
    const prev = new Map(t.previous.series.map((s) => [s.key + (s.other ? '\u0000' : ''), s.counts]))
    for (const s of t.current.series) cols.push(prev.get(s.key + (s.other ? '\u0000' : '')) ?? x.map(() => 0))
  }
  return [x, ...cols]
}

function colour(t: Trend, i: number, key: string): string {
  if (t.breakdown === '' || t.breakdown === 'event_type') return key === '' ? PALETTE[0] : typeStyle(key).color
  return PALETTE[i % PALETTE.length]
}

const HEIGHT = 260

export function TrendChart({ trend, bars = false, label }: { trend: Trend; bars?: boolean; label?: string }) {
  const el = useRef<HTMLDivElement>(null)
  // A new set of series (other types, breakdown or comparison) draws a new
  // chart; the same set refreshed every 10 s only takes the new data.
  const shape = [
    trend.breakdown,
    trend.measure,
    trend.previous !== null,
    ...trend.current.series.map((s) => s.key),
  ].join('\u0001')
  const latest = useRef(trend)
  const plot = useRef<uPlot | null>(null)

  // Before the chart's effect: when the shape changes, React has already
  // destroyed the old chart (its cleanup runs first), so the new data is
  // not given to a chart of other series, and the new chart is drawn from it.
  useEffect(() => {
    latest.current = trend
    plot.current?.setData(trendData(trend))
  }, [trend])

  useEffect(() => {
    const host = el.current
    if (host === null) return
    const t = latest.current
    const width = () => Math.max(200, host.clientWidth)
    const [b0, b1] = t.current.buckets
    const half = b1 === undefined ? 43_200 : (Date.parse(b1) - Date.parse(b0)) / 2000
    const series: uPlot.Series[] = [
      {
        label: 'Bucket',
        value: (_u, v) => (v === null || v === undefined ? '—' : dateTime(new Date(v * 1000).toISOString())),
      },
      ...t.current.series.map((s, i) => ({
        label: seriesName(s.key, t),
        stroke: colour(t, i, s.key),
        width: 2,
        points: { show: !bars && t.current.buckets.length <= 60 },
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : count(v)),
        ...(bars ? { fill: colour(t, i, s.key), width: 0, paths: uPlot.paths.bars?.({ size: [0.7, 24] }) } : {}),
      })),
    ]
    if (t.previous !== null) {
      t.current.series.forEach((s, i) =>
        series.push({
          label: `${seriesName(s.key, t)} (previous)`,
          stroke: colour(t, i, s.key),
          width: 1.5,
          dash: [6, 4],
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : count(v)),
        }),
      )
    }
    const u = new uPlot(
      {
        width: width(),
        height: HEIGHT,
        scales: {
          // Bars are centred on their bucket: half a bucket more on each side keeps the first and last whole.
          x: bars ? { time: true, range: (_u, min, max) => [min - half, max + half] } : { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        axes: [AXIS, { ...AXIS, label: MEASURE_NOUNS[t.measure][1], size: 60 }],
        series,
      },
      trendData(t),
      host,
    )
    plot.current = u
    const resize = new ResizeObserver(() => u.setSize({ width: width(), height: HEIGHT }))
    resize.observe(host)
    return () => {
      resize.disconnect()
      u.destroy()
      plot.current = null
    }
  }, [shape, bars])

  return (
    <div
      ref={el}
      className={`w-full overflow-hidden ${CHART_TEXT}`}
      role="img"
      aria-label={
        label ??
        `${MEASURE_LABELS[trend.measure]} per ${trend.interval}${trend.previous ? ', with the previous period dashed' : ''}`
      }
    />
  )
}

interface Row {
  key: string
  other: boolean
  total: number
  previous: number | undefined
}

/** Trends: events per bucket of a range, per type or broken down, against the previous period. */
export function InsightsPage({
  knownTypes = [],
  pollMs = 10_000,
  settleMs = 400,
  stored = null,
  liveMs = 2_000,
}: {
  knownTypes?: readonly string[]
  pollMs?: number
  /** How long typed filters must stay unchanged before they are asked for. */
  settleMs?: number
  /** The stored events the live socket last counted: when it moves, the open bucket is asked for again. */
  stored?: number | null
  /** The least time between two asks the socket prompts (a trend read from the events waits five times as long). */
  liveMs?: number
}) {
  const id = useId()
  const [params, setParams] = useRouteParams()
  const asked = params.get('breakdown') ?? ''
  const whereText = params.getAll('where').join('\u0000')
  const filters = useMemo(() => filtersOf(whereText === '' ? [] : whereText.split('\u0000')), [whereText])
  const { req: wanted, problem } = trendRequestOf(params)
  // Filters being typed are asked for once they stop changing, and only when whole.
  const settledFilters = useSettled(
    problem === null ? JSON.stringify(wanted.filters) : '',
    filters.length === 0 ? 0 : settleMs,
  )
  const req: TrendRequest = {
    ...wanted,
    filters: settledFilters === '' ? [] : (JSON.parse(settledFilters) as string[]),
  }
  const setFilters = (next: FilterDraft[]) =>
    setParams({ where: next.length === 0 ? null : next.map(filterParam) }, { replace: true })
  const trend = useTrend(req, pollMs)
  useLiveRefresh(keys.trend(req), stored, req.measure === 'count' && req.filters?.length === 0 ? liveMs : 5 * liveMs)
  const t = trend.data
  const types = [...new Set([...knownTypes, ...req.types])].sort()

  const toggleType = (type: string) => {
    const next = req.types.includes(type) ? req.types.filter((x) => x !== type) : [...req.types, type]
    setParams({ type: next.length === 0 ? null : next }, { replace: true })
  }

  const rows: Row[] =
    t === null
      ? []
      : t.current.series.map((s) => ({
          key: s.key,
          other: s.other === true,
          total: s.total,
          previous: t.previous?.series.find((p) => p.key === s.key && p.other === s.other)?.total,
        }))
  const columns: Column<Row>[] = [
    {
      header: t?.breakdown ? breakdownLabel(t.breakdown) : 'Series',
      cell: (r) => (t ? seriesName(r.key, t) : r.key),
    },
    { header: t ? MEASURE_LABELS[t.measure] : 'Events', cell: (r) => count(r.total) },
    ...(t?.previous
      ? [
          { header: 'Previous period', cell: (r: Row) => (r.previous === undefined ? '—' : count(r.previous)) },
          { header: 'Change', cell: (r: Row) => change(r.total, r.previous) },
        ]
      : []),
  ]

  return (
    <div className="flex flex-col gap-6">
      <Card
        title="Trend"
        actions={
          <SaveInsight
            kind="trend"
            suggestion={`${MEASURE_LABELS[req.measure ?? 'count']} of ${req.types.join(', ') || 'all events'}${req.breakdown === '' ? '' : ` by ${breakdownLabel(req.breakdown).toLowerCase()}`}`}
          />
        }
      >
        <div className="mb-4 flex flex-wrap items-end gap-4">
          <Field>
            <Label htmlFor={`${id}-range`}>Range</Label>
            <Select
              id={`${id}-range`}
              value={req.range}
              onChange={(e) =>
                setParams({ range: e.target.value === '24h' ? null : e.target.value }, { replace: true })
              }
            >
              {TREND_RANGES.map((r) => (
                <option key={r} value={r}>
                  {RANGE_LABELS[r]}
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label htmlFor={`${id}-interval`}>Per</Label>
            <Select
              id={`${id}-interval`}
              value={req.interval}
              onChange={(e) => setParams({ interval: e.target.value || null }, { replace: true })}
            >
              <option value="">Automatic</option>
              {TREND_INTERVALS.map((i) => (
                <option key={i} value={i}>
                  {i}
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label htmlFor={`${id}-measure`}>Count</Label>
            <Select
              id={`${id}-measure`}
              value={req.measure}
              onChange={(e) =>
                setParams({ measure: e.target.value === 'count' ? null : e.target.value }, { replace: true })
              }
            >
              {TREND_MEASURES.map((m) => (
                <option key={m} value={m}>
                  {MEASURE_LABELS[m]}
                </option>
              ))}
            </Select>
          </Field>
          <FieldPicker
            id={`${id}-breakdown`}
            label="Breakdown"
            value={asked}
            allowNone
            fields={TREND_BREAKDOWNS}
            onChange={(b) => setParams({ breakdown: b || null }, { replace: true })}
          />
          <label className="flex items-center gap-2 pb-1.5 text-sm">
            <input
              type="checkbox"
              checked={req.compare}
              onChange={(e) => setParams({ compare: e.target.checked ? 'previous' : null }, { replace: true })}
            />
            Compare with the previous period
          </label>
        </div>
        <fieldset className="mb-4">
          <legend className="mb-1 text-xs font-medium text-slate-700 dark:text-slate-300">
            Event types {req.types.length === 0 && '(none chosen: all events)'}
          </legend>
          {types.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-400">No event types stored yet.</p>
          ) : (
            <div className="flex flex-wrap gap-x-4 gap-y-1">
              {types.map((type) => (
                <label key={type} className="flex items-center gap-1.5 text-sm">
                  <input type="checkbox" checked={req.types.includes(type)} onChange={() => toggleType(type)} />
                  {type}
                </label>
              ))}
            </div>
          )}
        </fieldset>
        <div className="mb-4">
          {filters.length > 0 && (
            <ul className="mb-2 flex flex-col gap-2" aria-label="Filters">
              {filters.map((f, j) => (
                <li key={j}>
                  <FilterRow
                    id={`${id}-f${j}`}
                    name={`Filter ${j + 1}`}
                    removeLabel={`Remove filter ${j + 1}`}
                    filter={f}
                    onChange={(next) => setFilters(filters.with(j, next))}
                    onRemove={() => setFilters(filters.toSpliced(j, 1))}
                  />
                </li>
              ))}
            </ul>
          )}
          <Button size="sm" onClick={() => setFilters([...filters, { field: 'page', op: 'equals', value: '' }])}>
            + Filter
          </Button>
          {problem !== null && <Hint>{`Not asked yet: ${problem}.`}</Hint>}
        </div>
        {trend.error && <ErrorText>Could not load the trend: {trend.error}</ErrorText>}
        {t === null ? (
          !trend.error && <Loading />
        ) : (
          <div className="flex flex-col gap-4">
            <p role="status" className="text-sm">
              <span className="font-semibold tabular-nums">{count(t.current.total)}</span>{' '}
              {MEASURE_NOUNS[t.measure][t.current.total === 1 ? 0 : 1]} since {dateTime(t.current.buckets[0])}, per{' '}
              {t.interval}
              {t.previous !== null && (
                <>
                  ; previous period <span className="tabular-nums">{count(t.previous.total)}</span> (
                  {change(t.current.total, t.previous.total)})
                </>
              )}
              . Counted by the time each event happened
              {t.measure !== 'count' &&
                `; a ${MEASURE_NOUNS[t.measure][0]} counts once in each bucket and once in a total`}
              {!t.exact && '; estimated from HyperLogLog sketches (exact up to a few thousand, within about 1% beyond)'}
              ; {stored === null ? `refreshed every ${Math.round(pollMs / 1000)} s` : 'updated as events are stored'}.
            </p>
            {t.current.total === 0 && t.previous?.total !== undefined && t.previous.total === 0 ? (
              <Empty>No events in this range.</Empty>
            ) : (
              <TrendChart trend={t} />
            )}
            <DataTable
              caption="Trend totals"
              columns={columns}
              rows={rows}
              rowKey={(r) => (r.other ? '\u0000other' : r.key)}
            />
          </div>
        )}
      </Card>
      <KeptProperties breakdown={req.breakdown} />
    </div>
  )
}
