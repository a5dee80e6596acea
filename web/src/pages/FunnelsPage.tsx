import { useId, useMemo } from 'react'
import type { FunnelRequest } from '../api/client'
import { TREND_RANGES, type Funnel, type FunnelBreakdown, type FunnelStep, type TrendRange } from '../api/schema'
import {
  FIELD_LABELS,
  FieldPicker,
  FilterRow,
  fieldProblem,
  filterOf,
  isOp,
  filterParam,
  filterProblem,
  describeFilter,
  type FilterDraft,
} from '../components/Filters'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { Field, Hint, Label, Select } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime, percent, wait } from '../format'
import { useRouteParams } from '../hooks/route'
import { UserLink } from '../components/UserLink'
import { useSettled } from '../hooks/useSettled'
import { useFunnel } from '../hooks/resources'
import { SaveInsight } from '../components/SaveInsight'

// The URL keeps the funnel: one `step` per step, in order, and one `where`
// per filter, "<step index>:" and the filter (components/Filters).

export const MIN_STEPS = 2
export const MAX_STEPS = 10

/** A step as the page edits it. */
export interface StepDraft {
  type: string
  filters: FilterDraft[]
}

const RANGE_LABELS: Record<TrendRange, string> = {
  '30m': 'Last 30 minutes',
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
}
const WINDOWS = ['30m', '1h', '6h', '1d', '7d', '14d', '30d', '90d']
const LIMITS = ['5', '10', '20']
const DEFAULT_RANGE: TrendRange = '7d'
const DEFAULT_WINDOW = '1d'
const DEFAULT_LIMIT = '5'
const isRange = (v: string | null): v is TrendRange => v !== null && (TREND_RANGES as readonly string[]).includes(v)

/** The steps a URL's parameters hold. */
export function stepsOf(params: URLSearchParams): StepDraft[] {
  const steps: StepDraft[] = params.getAll('step').map((type) => ({ type, filters: [] }))
  for (const w of params.getAll('where')) {
    const m = /^(\d+):([^:]+):([^:]+)(?::([\s\S]*))?$/.exec(w)
    if (m === null || !isOp(m[3])) continue
    steps[Number(m[1])]?.filters.push({ field: m[2], op: m[3], value: m[4] ?? '' })
  }
  return steps
}

/** The URL parameters of a list of steps. */
export function stepParams(steps: readonly StepDraft[]): { step: string[]; where: string[] } {
  return {
    step: steps.map((s) => s.type),
    where: steps.flatMap((s, i) => s.filters.map((f) => `${i}:${filterParam(f)}`)),
  }
}

/** What keeps the steps from being a funnel the server can answer, in words, or null. */
export function stepsProblem(steps: readonly StepDraft[]): string | null {
  if (steps.length < MIN_STEPS) return `A funnel has ${MIN_STEPS} to ${MAX_STEPS} steps: add a step.`
  for (const [i, s] of steps.entries()) {
    if (s.type === '') return `Step ${i + 1}: choose an event type.`
    for (const f of s.filters) {
      const p = filterProblem(f)
      if (p !== null) return `Step ${i + 1}: ${p}.`
    }
  }
  return null
}

/** The funnel a page opens with before any step is chosen: two of the known types, page views first. */
function defaultSteps(known: readonly string[]): StepDraft[] {
  const order = [...known].sort((a, b) => Number(b === 'page_view') - Number(a === 'page_view') || a.localeCompare(b))
  return order.slice(0, MIN_STEPS).map((type) => ({ type, filters: [] }))
}

function StepEditor({
  index,
  step,
  steps,
  types,
  onChange,
}: {
  index: number
  step: StepDraft
  steps: readonly StepDraft[]
  types: readonly string[]
  onChange: (next: StepDraft[], push?: boolean) => void
}) {
  const id = useId()
  const n = index + 1
  const set = (s: StepDraft, push = false) => onChange(steps.with(index, s), push)
  const setFilter = (j: number, f: FilterDraft) => set({ ...step, filters: step.filters.with(j, f) })
  const move = (by: number) => {
    const next = [...steps]
    ;[next[index], next[index + by]] = [next[index + by], next[index]]
    onChange(next, true)
  }
  const options = step.type === '' || types.includes(step.type) ? types : [...types, step.type]
  return (
    <li>
      <fieldset className="rounded-md border border-slate-200 p-3 dark:border-slate-700">
        <legend className="px-1 text-sm font-medium">Step {n}</legend>
        <div className="flex flex-wrap items-end gap-3">
          <Field>
            <Label htmlFor={`${id}-type`}>Event type</Label>
            <Select id={`${id}-type`} value={step.type} onChange={(e) => set({ ...step, type: e.target.value }, true)}>
              {step.type === '' && <option value="">Choose…</option>}
              {options.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </Select>
          </Field>
          <div className="flex flex-wrap gap-1">
            <Button size="sm" aria-label={`Move step ${n} up`} disabled={index === 0} onClick={() => move(-1)}>
              ↑ Up
            </Button>
            <Button
              size="sm"
              aria-label={`Move step ${n} down`}
              disabled={index === steps.length - 1}
              onClick={() => move(1)}
            >
              ↓ Down
            </Button>
            <Button
              size="sm"
              aria-label={`Add a filter to step ${n}`}
              onClick={() =>
                set({ ...step, filters: [...step.filters, { field: 'page', op: 'equals', value: '' }] }, true)
              }
            >
              + Filter
            </Button>
            <Button
              size="sm"
              aria-label={`Remove step ${n}`}
              disabled={steps.length <= MIN_STEPS}
              onClick={() => onChange(steps.toSpliced(index, 1), true)}
            >
              Remove
            </Button>
          </div>
        </div>
        {step.filters.length > 0 && (
          <ul className="mt-3 flex flex-col gap-2" aria-label={`Filters of step ${n}`}>
            {step.filters.map((f, j) => (
              <li key={j}>
                <FilterRow
                  id={`${id}-f${j}`}
                  name={`Step ${n}, filter ${j + 1}`}
                  removeLabel={`Remove filter ${j + 1} of step ${n}`}
                  filter={f}
                  onChange={(next) => setFilter(j, next)}
                  onRemove={() => set({ ...step, filters: step.filters.toSpliced(j, 1) }, true)}
                />
              </li>
            ))}
          </ul>
        )}
      </fieldset>
    </li>
  )
}

/** The steps as bars: the users who reached each, as a share of the first, and those who dropped before it. */
export function FunnelChart({ funnel }: { funnel: Funnel }) {
  const first = funnel.steps[0]?.count ?? 0
  const width = (n: number) => `${first === 0 ? 0 : (n / first) * 100}%`
  return (
    <ol aria-label="Funnel chart" className="flex flex-col gap-3">
      {funnel.steps.map((s, i) => (
        <li key={i}>
          <div className="mb-1 flex flex-wrap justify-between gap-x-4 text-sm">
            <span className="font-medium">
              {i + 1}. {s.event_type}
            </span>
            <span className="tabular-nums">
              {count(s.count)} {s.count === 1 ? 'user' : 'users'} · {percent(s.conversion)}
              {i > 0 && s.dropped > 0 && (
                <span className="text-slate-600 dark:text-slate-400">
                  {' '}
                  · {count(s.dropped)} dropped ({percent(1 - s.step_conversion)})
                </span>
              )}
            </span>
          </div>
          <div className="flex h-6 overflow-hidden rounded bg-slate-100 dark:bg-slate-800" aria-hidden="true">
            <div className="h-full bg-blue-600 dark:bg-blue-500" style={{ width: width(s.count) }} />
            {i > 0 && s.dropped > 0 && (
              <div
                className="h-full bg-[repeating-linear-gradient(135deg,var(--color-red-300)_0_4px,var(--color-red-100)_4px_8px)] dark:bg-[repeating-linear-gradient(135deg,var(--color-red-800)_0_4px,var(--color-red-950)_4px_8px)]"
                style={{ width: width(s.dropped) }}
              />
            )}
          </div>
        </li>
      ))}
    </ol>
  )
}

/** Up to the limit of a step's dropped users, each a link to the user's page. */
function DroppedUsers({ step }: { step: FunnelStep }) {
  if (step.dropped === 0) return <span>—</span>
  const listed = step.dropped_users
  return (
    <details className="text-left">
      <summary className="cursor-pointer text-blue-700 underline dark:text-blue-300">
        {count(step.dropped)} {step.dropped === 1 ? 'user' : 'users'} dropped
      </summary>
      <ul className="mt-1 flex max-h-48 flex-col gap-0.5 overflow-y-auto">
        {listed.map((u) => (
          <li key={u}>
            <UserLink userId={u} />
          </li>
        ))}
      </ul>
      {step.dropped > listed.length && (
        <p className="mt-1 text-slate-600 dark:text-slate-400">
          The first {count(listed.length)} of {count(step.dropped)} listed.
        </p>
      )}
    </details>
  )
}

/**
 * The funnel a page's URL parameters ask for, what keeps it from being
 * asked (or null), and the choices it was made of. The funnels page and a
 * pinned funnel read the same parameters.
 */
export function funnelRequestOf(params: URLSearchParams, knownTypes: readonly string[]) {
  const fromURL = stepsOf(params)
  const steps = fromURL.length > 0 ? fromURL : defaultSteps(knownTypes)
  const askedRange = params.get('range')
  const from = params.get('from')
  const to = params.get('to')
  const custom = from !== null && to !== null && askedRange === null
  const range: TrendRange = isRange(askedRange) ? askedRange : DEFAULT_RANGE
  const within = params.get('window') ?? DEFAULT_WINDOW
  const breakdown = params.get('breakdown') ?? ''
  const limit = LIMITS.includes(params.get('limit') ?? '') ? (params.get('limit') ?? DEFAULT_LIMIT) : DEFAULT_LIMIT
  const req: FunnelRequest = {
    steps: steps.map((s) => ({ event_type: s.type, filters: s.filters.map(filterOf) })),
    window: within,
    ...(custom ? { from, to } : { range }),
    ...(breakdown !== '' ? { breakdown, limit: Number(limit) } : {}),
  }
  const problem = stepsProblem(steps) ?? (breakdown === '' ? null : fieldProblem(breakdown))
  return { req, problem, steps, range, within, breakdown, limit }
}

/** Funnels: how many users went through a sequence of steps in order, within a window, and where they dropped. */
export function FunnelsPage({
  knownTypes = [],
  pollMs = 60_000,
  settleMs = 400,
}: {
  knownTypes?: readonly string[]
  pollMs?: number
  /** How long the funnel must stay unchanged before it is asked for. */
  settleMs?: number
}) {
  const id = useId()
  const [params, setParams] = useRouteParams()
  const { steps } = useMemo(() => funnelRequestOf(params, knownTypes), [params, knownTypes])
  const types = [...new Set([...knownTypes])].sort()

  const from = params.get('from')
  const to = params.get('to')
  const custom = from !== null && to !== null && params.get('range') === null
  const { req, problem, range, within, breakdown, limit } = funnelRequestOf(params, knownTypes)
  const settled = useSettled(problem === null ? JSON.stringify(req) : '', settleMs)
  const asked = useMemo(
    (): FunnelRequest => (settled === '' ? { steps: [] } : (JSON.parse(settled) as FunnelRequest)),
    [settled],
  )
  const funnel = useFunnel(asked, settled !== '', pollMs)
  const f = settled === '' ? null : funnel.data

  const setSteps = (next: StepDraft[], push = false) => setParams(stepParams(next), { replace: !push })

  const stepColumns: Column<FunnelStep & { n: number }>[] = [
    {
      header: 'Step',
      cell: (s) => (
        <span className="text-left">
          <span className="font-medium">
            {s.n}. {s.event_type}
          </span>
          {s.filters.length > 0 && (
            <span className="block text-slate-600 dark:text-slate-400">{s.filters.map(describeFilter).join('; ')}</span>
          )}
        </span>
      ),
    },
    { header: 'Users', cell: (s) => count(s.count) },
    { header: 'Conversion', cell: (s) => percent(s.conversion) },
    { header: 'From previous step', cell: (s) => (s.n === 1 ? '—' : percent(s.step_conversion)) },
    { header: 'Dropped', cell: (s) => (s.n === 1 ? '—' : count(s.dropped)) },
    { header: 'Median time from previous step', cell: (s) => wait(s.median_seconds) },
    { header: 'Dropped users', cell: (s) => <DroppedUsers step={s} /> },
  ]

  const breakdownColumns: Column<FunnelBreakdown>[] = [
    {
      header: breakdown === '' ? 'Value' : (FIELD_LABELS[breakdown] ?? breakdown),
      cell: (b) => (b.value === '' && b.other !== true ? '(none)' : b.value),
    },
    ...(f?.steps ?? []).map((s, j) => ({
      header: `${j + 1}. ${s.event_type}`,
      cell: (b: FunnelBreakdown) => {
        const n = b.steps[j]?.count ?? 0
        const start = b.steps[0]?.count ?? 0
        return j === 0 ? count(n) : `${count(n)} (${percent(start === 0 ? 0 : n / start)})`
      },
    })),
  ]

  return (
    <div className="flex flex-col gap-6">
      <Card
        title="Funnel"
        actions={<SaveInsight kind="funnel" suggestion={steps.map((s) => s.type || '?').join(' → ')} />}
      >
        <ol aria-label="Steps" className="mb-3 flex flex-col gap-3">
          {steps.map((s, i) => (
            <StepEditor key={i} index={i} step={s} steps={steps} types={types} onChange={setSteps} />
          ))}
        </ol>
        {types.length === 0 && params.getAll('step').length === 0 && (
          <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">No event types stored yet.</p>
        )}
        <div className="mb-4 flex flex-wrap items-end gap-4">
          <Button
            disabled={steps.length >= MAX_STEPS}
            onClick={() =>
              setSteps(
                [
                  ...steps,
                  { type: types.find((t) => !steps.some((s) => s.type === t)) ?? types[0] ?? '', filters: [] },
                ],
                true,
              )
            }
          >
            + Add step
          </Button>
          <Field>
            <Label htmlFor={`${id}-window`}>Within</Label>
            <Select
              id={`${id}-window`}
              value={within}
              onChange={(e) =>
                setParams({ window: e.target.value === DEFAULT_WINDOW ? null : e.target.value }, { replace: true })
              }
            >
              {(WINDOWS.includes(within) ? WINDOWS : [...WINDOWS, within]).map((w) => (
                <option key={w} value={w}>
                  {w} of the first step
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label htmlFor={`${id}-range`}>First step in</Label>
            <Select
              id={`${id}-range`}
              value={custom ? '' : range}
              onChange={(e) =>
                setParams(
                  { range: e.target.value === DEFAULT_RANGE ? null : e.target.value, from: null, to: null },
                  { replace: true },
                )
              }
            >
              {custom && (
                <option value="">
                  {dateTime(from)} – {dateTime(to)}
                </option>
              )}
              {TREND_RANGES.map((r) => (
                <option key={r} value={r}>
                  {RANGE_LABELS[r]}
                </option>
              ))}
            </Select>
          </Field>
          <FieldPicker
            id={`${id}-breakdown`}
            label="Breakdown"
            allowNone
            value={breakdown}
            onChange={(b) =>
              setParams({ breakdown: b || null, limit: b === '' ? null : params.get('limit') }, { replace: true })
            }
          />
          {breakdown !== '' && (
            <Field>
              <Label htmlFor={`${id}-limit`}>Top values</Label>
              <Select
                id={`${id}-limit`}
                value={limit}
                onChange={(e) =>
                  setParams({ limit: e.target.value === DEFAULT_LIMIT ? null : e.target.value }, { replace: true })
                }
              >
                {LIMITS.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </Select>
            </Field>
          )}
        </div>
        {problem !== null && <Hint>{problem}</Hint>}
        {funnel.error && settled !== '' && <ErrorText>Could not load the funnel: {funnel.error}</ErrorText>}
        {f === null ? (
          problem === null && !funnel.error && <Loading />
        ) : (
          <div className="flex flex-col gap-4">
            <p role="status" className="text-sm">
              <span className="font-semibold tabular-nums">{count(f.steps[0]?.count ?? 0)}</span> users did{' '}
              {f.steps[0]?.event_type} between {dateTime(f.from)} and {dateTime(f.to)};{' '}
              <span className="font-semibold tabular-nums">{count(f.steps.at(-1)?.count ?? 0)}</span> (
              {percent(f.steps.at(-1)?.conversion ?? 0)}) went on to {f.steps.at(-1)?.event_type} within{' '}
              {wait(f.window_seconds)}.
            </p>
            {(f.steps[0]?.count ?? 0) === 0 ? (
              <Empty>No user did the first step in this range.</Empty>
            ) : (
              <FunnelChart funnel={f} />
            )}
            <DataTable
              caption="Funnel steps"
              columns={stepColumns}
              rows={f.steps.map((s, i) => ({ ...s, n: i + 1 }))}
              rowKey={(s) => s.n}
            />
            {f.breakdown !== undefined && (
              <DataTable
                caption={`Funnel by ${FIELD_LABELS[breakdown]?.toLowerCase() ?? breakdown}`}
                showCaption
                columns={breakdownColumns}
                rows={f.breakdown}
                rowKey={(b) => (b.other ? '\u0000other' : b.value)}
                empty="No values."
              />
            )}
          </div>
        )}
      </Card>
    </div>
  )
}
