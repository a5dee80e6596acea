import { useEffect, useId, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { isRange, type LedgerPoint, type LedgerView, type Range } from '../api/schema'
import { AXIS, CHART_TEXT, TIME_SERIES } from '../components/chartAxis'
import { RangePicker, rangeLabel } from '../components/RangePicker'
import { Card } from '../components/ui/Card'
import { Field, Label, Select } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { DataTable, type Column } from '../components/ui/Table'
import { count } from '../format'
import { useRouteParams } from '../hooks/route'
import { useLedger, useSources } from '../hooks/resources'

type Counts = Omit<LedgerPoint, 't' | 'source_id'>

const ZERO: Counts = {
  numbered: 0,
  received: 0,
  rejected: 0,
  dnt_dropped: 0,
  stored: 0,
  sequenced: 0,
  duplicates: 0,
  dropped_client: 0,
  late: 0,
  skew_corrected: 0,
  gaps: 0,
}

/** The counts of several sources added up. */
export function sum(points: readonly Counts[]): Counts {
  const out = { ...ZERO }
  for (const p of points) for (const k of Object.keys(ZERO) as (keyof Counts)[]) out[k] += p[k]
  return out
}

/** What each figure is, in a line. */
const FIGURES: readonly { key: keyof Counts; label: string; help: string }[] = [
  { key: 'numbered', label: 'Numbered', help: 'how far the browsers’ numbering went' },
  { key: 'stored', label: 'Stored', help: 'events stored, each once' },
  { key: 'gaps', label: 'Gaps', help: 'numbered, never stored: lost, blocked or still queued' },
  { key: 'duplicates', label: 'Duplicates dropped', help: 'copies of stored events (retries), not stored again' },
  { key: 'dropped_client', label: 'Dropped on the client', help: 'discarded by a full browser queue, as reported' },
  { key: 'late', label: 'Late', help: 'arrived after a later event of their page: filled a gap' },
  { key: 'skew_corrected', label: 'Clock corrected', help: 'times moved for a browser clock off by over 2 s' },
  { key: 'rejected', label: 'Rejected', help: 'refused by the collector, with the reason in its answer' },
  { key: 'dnt_dropped', label: 'Do-Not-Track', help: 'dropped because the browser asked not to be tracked' },
]

/** A sentence on what the gaps mean for the range. */
export function verdict(c: Counts): string {
  if (c.numbered === 0 && c.stored === 0) return 'Nothing was delivered in this range.'
  if (c.gaps === 0) return 'Every numbered event was stored: nothing lost, nothing doubled.'
  if (c.gaps < 0)
    return `${count(-c.gaps)} late events filled gaps opened before this range: widen the range to see them balance.`
  const never = `${count(c.gaps)} numbered ${c.gaps === 1 ? 'event was' : 'events were'} never stored`
  // A refused event keeps its number: with refusals in the range, some
  // of the gaps may be theirs, not losses.
  if (c.rejected > 0)
    return `${never}: refused by the collector (${count(c.rejected)} refused in this range, with their reasons: see Rejected and the tracking plan's warnings), lost on the way, blocked by an extension, or still queued in a browser.`
  return `${never}: lost on the way, blocked by an extension, or still queued in a browser that will send ${c.gaps === 1 ? 'it' : 'them'} later.`
}

/** The chart's columns: each step of the range, missing steps as zero. */
export function chartData(v: LedgerView): uPlot.AlignedData {
  const from = Date.parse(v.from) / 1000
  const to = Date.parse(v.to) / 1000
  const steps = Math.max(1, Math.ceil((to - from) / v.step_seconds))
  const x = Array.from({ length: steps }, (_, i) => from + i * v.step_seconds)
  const cols = [
    new Array<number>(steps).fill(0),
    new Array<number>(steps).fill(0),
    new Array<number>(steps).fill(0),
    new Array<number>(steps).fill(0),
  ]
  for (const p of v.points) {
    if (p.t === undefined) continue
    const i = Math.round((Date.parse(p.t) / 1000 - from) / v.step_seconds)
    if (i < 0 || i >= steps) continue
    cols[0][i] += p.received
    cols[1][i] += p.stored
    cols[2][i] += p.duplicates
    cols[3][i] += p.gaps
  }
  return [x, ...cols]
}

const HEIGHT = 220

function LedgerChart({ view }: { view: LedgerView }) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const latest = useRef(view)

  useEffect(() => {
    const host = el.current
    if (host === null) return
    const width = () => Math.max(200, host.clientWidth)
    const line = (label: string, stroke: string): uPlot.Series => ({ label, stroke, width: 2, points: { show: false } })
    const u = new uPlot(
      {
        width: width(),
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
        axes: [AXIS, { ...AXIS, label: 'events per step', size: 60 }],
        series: [
          TIME_SERIES,
          line('Received', '#3b82f6'),
          line('Stored', '#16a34a'),
          line('Duplicates', '#f59e0b'),
          line('Gaps', '#dc2626'),
        ],
      },
      chartData(latest.current),
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
  }, [])

  useEffect(() => {
    latest.current = view
    plot.current?.setData(chartData(view))
  }, [view])

  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">
        Per {view.step_seconds} s step over the last {isRange(view.range) ? rangeLabel(view.range) : view.range}
      </figcaption>
      <div
        ref={el}
        className={`w-full overflow-hidden ${CHART_TEXT}`}
        role="img"
        aria-label="Events received, stored, dropped as duplicates and gaps per step"
      />
    </figure>
  )
}

/** The delivery ledger: per source, what browsers numbered and what became of it. */
export function DeliveryPage({ pollMs = 10_000 }: { pollMs?: number }) {
  const id = useId()
  const [params, setParams] = useRouteParams()
  const asked = params.get('range')
  const range: Range = isRange(asked) ? asked : '1h'
  const source = params.get('source') ?? ''
  const sources = useSources(60_000)
  const ledger = useLedger(range, source, pollMs)
  const names = new Map((sources.data?.sources ?? []).map((s) => [s.id, s.name]))
  const view = ledger.data
  const totals = view === null ? ZERO : sum(view.totals)
  const columns: readonly Column<LedgerPoint>[] = [
    { header: 'Source', cell: (p) => names.get(p.source_id) ?? p.source_id },
    ...FIGURES.map((f) => ({ header: f.label, cell: (p: LedgerPoint) => count(p[f.key]) })),
  ]
  return (
    <div className="flex flex-col gap-6">
      <Card
        title="Delivery Ledger"
        actions={
          <RangePicker
            value={range}
            onChange={(r) => setParams({ range: r === '1h' ? null : r }, { replace: true })}
            label="Ledger range"
          />
        }
      >
        <div className="mb-4 flex flex-wrap items-end gap-4">
          <Field>
            <Label htmlFor={`${id}-source`}>Source</Label>
            <Select
              id={`${id}-source`}
              value={source}
              onChange={(e) => setParams({ source: e.target.value || null }, { replace: true })}
            >
              <option value="">All sources</option>
              {(sources.data?.sources ?? []).map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                  {s.revoked_at !== null ? ' (revoked)' : ''}
                </option>
              ))}
            </Select>
          </Field>
        </div>
        {ledger.error && <ErrorText>Could not load the ledger: {ledger.error}</ErrorText>}
        {view === null ? (
          !ledger.error && <Loading />
        ) : (
          <div className="flex flex-col gap-4">
            <p role="status" className="text-sm font-medium">
              {verdict(totals)}
            </p>
            <dl aria-label="Ledger totals" className="grid grid-cols-2 gap-3 sm:grid-cols-3 xl:grid-cols-5">
              {FIGURES.map((f) => (
                <div key={f.key} className="min-w-0">
                  <dt className="text-xs text-slate-600 dark:text-slate-400">{f.label}</dt>
                  <dd className="text-lg font-semibold tabular-nums">{count(totals[f.key])}</dd>
                  <dd className="text-xs text-slate-600 dark:text-slate-400">{f.help}</dd>
                </div>
              ))}
            </dl>
            <LedgerChart view={view} />
          </div>
        )}
      </Card>
      <Card title="By Source">
        {view === null ? (
          !ledger.error && <Loading />
        ) : view.totals.length === 0 ? (
          <Empty>
            No source sent anything in the last {rangeLabel(range)}. Add pulse.js to a site (Sources) and its deliveries
            are counted here.
          </Empty>
        ) : (
          <DataTable caption="Ledger by source" columns={columns} rows={view.totals} rowKey={(p) => p.source_id} />
        )}
        <StatList
          className="mt-4"
          label="How to read it"
          columns="grid-cols-1 sm:grid-cols-2"
          items={[
            ['Gaps', 'numbered − stored with a number; over the whole history it is exactly what never arrived'],
            ['Received vs stored', 'received counts retries too; stored counts each event once'],
          ]}
        />
      </Card>
    </div>
  )
}
