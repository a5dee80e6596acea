import { useId } from 'react'
import type { RetentionRequest } from '../api/client'
import { RETENTION_PERIODS, type Cohort, type Retention, type RetentionPeriod } from '../api/schema'
import { Card } from '../components/ui/Card'
import { Field, Label, Select } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { count, dateTime, percent } from '../format'
import { useRouteParams } from '../hooks/route'
import { useRetention } from '../hooks/resources'
import { SaveInsight } from '../components/SaveInsight'

const RANGES: Record<RetentionPeriod, readonly string[]> = {
  day: ['7d', '14d', '30d', '60d', '90d'],
  week: ['4w', '8w', '12w', '26w'],
}
const DEFAULT_RANGE: Record<RetentionPeriod, string> = { day: '14d', week: '8w' }
const PERIOD_LABELS: Record<RetentionPeriod, string> = { day: 'Day', week: 'Week' }

const isPeriod = (v: string | null): v is RetentionPeriod =>
  v !== null && (RETENTION_PERIODS as readonly string[]).includes(v)

function rangeLabel(r: string): string {
  const n = Number(r.slice(0, -1))
  return `Last ${n} ${r.endsWith('w') ? 'weeks' : 'days'}`
}

// Cohorts start at midnight UTC (weeks on Monday): they are named in UTC
// so that a cohort is not shown as the day before in the Americas.
const DAY = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' })
const WEEK = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })

/** A cohort's name: its day, or the Monday its week starts on. */
export function cohortName(start: string, period: RetentionPeriod): string {
  const t = new Date(start)
  return period === 'day' ? DAY.format(t) : `Week of ${WEEK.format(t)}`
}

/**
 * The share of users active k periods after their cohort's, over every
 * cohort that has reached that period, weighted by the cohorts' sizes:
 * returned and users summed over those cohorts. null where no user could
 * have come back yet.
 */
export function averageRow(cohorts: readonly Cohort[]): { returned: number; users: number; share: number | null }[] {
  const periods = Math.max(0, ...cohorts.map((c) => c.returned.length))
  return Array.from({ length: periods }, (_, k) => {
    let returned = 0
    let users = 0
    for (const c of cohorts) {
      if (k >= c.returned.length) continue
      returned += c.returned[k]
      users += c.users
    }
    return { returned, users, share: users === 0 ? null : returned / users }
  })
}

// The shade of a cell by its share, light and dark; the text keeps 4.5:1
// on each (the number is always in the cell: the colour only repeats it).
const SHADES = [
  '',
  'bg-blue-50 dark:bg-blue-950',
  'bg-blue-100 dark:bg-blue-900',
  'bg-blue-200 dark:bg-blue-800',
  'bg-blue-400 text-slate-950 dark:bg-blue-700 dark:text-white',
  'bg-blue-700 text-white dark:bg-blue-500 dark:text-slate-950',
]

/** The shade of a share: none at 0, then up to 10%, 25%, 50%, 75% and above. */
export function shade(share: number | null): string {
  if (share === null || share <= 0) return SHADES[0]
  if (share < 0.1) return SHADES[1]
  if (share < 0.25) return SHADES[2]
  if (share < 0.5) return SHADES[3]
  if (share < 0.75) return SHADES[4]
  return SHADES[5]
}

const CELL = 'px-2 py-1.5 text-right tabular-nums whitespace-nowrap'
const HEAD = 'px-2 py-1.5 text-left font-medium whitespace-nowrap'

function Share({ returned, users }: { returned: number; users: number }) {
  const share = users === 0 ? null : returned / users
  return (
    <td className={`${CELL} ${shade(share)}`} title={`${count(returned)} of ${count(users)} users`}>
      {share === null ? '—' : percent(share)}
    </td>
  )
}

export function CohortTable({ retention }: { retention: Retention }) {
  const average = averageRow(retention.cohorts)
  const unit = PERIOD_LABELS[retention.period]
  const totalUsers = retention.cohorts.reduce((n, c) => n + c.users, 0)
  return (
    <div
      className="max-w-full overflow-x-auto focus-visible:outline-2 focus-visible:outline-blue-600"
      role="region"
      aria-label="Cohorts, scrolls sideways"
      tabIndex={0}
    >
      <table className="w-full border-separate border-spacing-0 text-xs">
        <caption className="sr-only">Retention by cohort</caption>
        <thead>
          <tr className="text-slate-600 dark:text-slate-400">
            <th scope="col" className={HEAD}>
              Cohort
            </th>
            <th scope="col" className={`${HEAD} text-right`}>
              Users
            </th>
            {average.map((_, k) => (
              <th key={k} scope="col" className={`${HEAD} text-right`}>
                {unit} {k}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr className="font-semibold">
            <th scope="row" className={`${HEAD} border-b border-slate-300 dark:border-slate-600`}>
              Average
            </th>
            <td className={`${CELL} border-b border-slate-300 dark:border-slate-600`}>{count(totalUsers)}</td>
            {average.map((a, k) => (
              <Share key={k} returned={a.returned} users={a.users} />
            ))}
          </tr>
          {retention.cohorts.map((c) => (
            <tr key={c.start}>
              <th scope="row" className={`${HEAD} font-normal`}>
                {cohortName(c.start, retention.period)}
              </th>
              <td className={CELL}>{count(c.users)}</td>
              {average.map((_, k) =>
                k < c.returned.length ? (
                  <Share key={k} returned={c.returned[k]} users={c.users} />
                ) : (
                  <td key={k} className={CELL} />
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** Retention: the users first seen in each day or week, and how many came back in each later one. */
/** The retention a page's URL parameters ask for: the retention page and a pinned retention read the same parameters. */
export function retentionRequestOf(params: URLSearchParams): RetentionRequest {
  const asked = params.get('period')
  const period: RetentionPeriod = isPeriod(asked) ? asked : 'day'
  const from = params.get('from')
  const to = params.get('to')
  const custom = from !== null && to !== null && params.get('range') === null
  const range = params.get('range') ?? DEFAULT_RANGE[period]
  const returnEvent = params.get('return_event') ?? ''
  return { period, range: custom ? '' : range, ...(custom ? { from, to } : {}), returnEvent }
}

export function RetentionPage({
  knownTypes = [],
  pollMs = 60_000,
}: {
  knownTypes?: readonly string[]
  pollMs?: number
}) {
  const id = useId()
  const [params, setParams] = useRouteParams()
  const req = retentionRequestOf(params)
  const { period, returnEvent } = req
  const custom = req.range === ''
  const from = params.get('from')
  const to = params.get('to')
  const range = custom ? (params.get('range') ?? DEFAULT_RANGE[period]) : req.range
  const retention = useRetention(req, pollMs)
  const r = retention.data
  const types = [...new Set([...knownTypes, ...(returnEvent === '' ? [] : [returnEvent])])].sort()
  const ranges = RANGES[period].includes(range) ? RANGES[period] : [...RANGES[period], range]
  const users = r?.cohorts.reduce((n, c) => n + c.users, 0) ?? 0

  return (
    <div className="flex flex-col gap-6">
      <Card
        title="Retention"
        actions={
          <SaveInsight
            kind="retention"
            suggestion={`Retention by ${period}${returnEvent === '' ? '' : `, back on ${returnEvent}`}`}
          />
        }
      >
        <div className="mb-4 flex flex-wrap items-end gap-4">
          <Field>
            <Label htmlFor={`${id}-period`}>Cohorts by</Label>
            <Select
              id={`${id}-period`}
              value={period}
              onChange={(e) =>
                setParams({ period: e.target.value === 'day' ? null : e.target.value, range: null }, { replace: true })
              }
            >
              {RETENTION_PERIODS.map((p) => (
                <option key={p} value={p}>
                  {PERIOD_LABELS[p]}
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label htmlFor={`${id}-range`}>Range</Label>
            <Select
              id={`${id}-range`}
              value={custom ? '' : range}
              onChange={(e) =>
                setParams(
                  { range: e.target.value === DEFAULT_RANGE[period] ? null : e.target.value, from: null, to: null },
                  { replace: true },
                )
              }
            >
              {custom && (
                <option value="">
                  {dateTime(from)} – {dateTime(to)}
                </option>
              )}
              {ranges.map((x) => (
                <option key={x} value={x}>
                  {rangeLabel(x)}
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label htmlFor={`${id}-return`}>Coming back means</Label>
            <Select
              id={`${id}-return`}
              value={returnEvent}
              onChange={(e) => setParams({ return_event: e.target.value || null }, { replace: true })}
            >
              <option value="">Any event</option>
              {types.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </Select>
          </Field>
        </div>
        {retention.error && <ErrorText>Could not load the retention: {retention.error}</ErrorText>}
        {r === null ? (
          !retention.error && <Loading />
        ) : (
          <div className="flex flex-col gap-4">
            <p role="status" className="text-sm">
              <span className="font-semibold tabular-nums">{count(users)}</span> users first seen in {r.cohorts.length}{' '}
              {r.period === 'day' ? 'days' : 'weeks'}; coming back means{' '}
              {r.return_event === '' ? 'any event' : r.return_event}. Each cell is the share of its cohort active that
              many {r.period === 'day' ? 'days' : 'weeks'} after its first; the average weighs the cohorts by size.
            </p>
            {users === 0 ? <Empty>No users were first seen in this range.</Empty> : <CohortTable retention={r} />}
          </div>
        )}
      </Card>
    </div>
  )
}
