import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { ApiError, startLoad, stopLoad } from '../api/client'
import { keys } from '../api/queries'
import type { LoadRequest, LoadRun, LoadStatus } from '../api/schema'
import { RoleNote } from '../components/RoleNote'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { Field, Hint, Input, Label } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { DataTable, type Column } from '../components/ui/Table'
import { clockTime, count, dateTime, duration, errorMessage } from '../format'
import { useLoad, useLoadRuns } from '../hooks/resources'
import { useAllowed } from '../hooks/role'

/** The event types of the generated mix and their default weights (the seed's demo traffic). */
export const MIX_TYPES: readonly { type: string; weight: number }[] = [
  { type: 'page_view', weight: 40 },
  { type: 'button_click', weight: 35 },
  { type: 'form_submit', weight: 12 },
  { type: 'user_login', weight: 5 },
  { type: 'api_call', weight: 8 },
]

interface FormState {
  rate: string
  duration: string
  failure: string
  delay: string
  mix: Record<string, string>
}

const INITIAL: FormState = {
  rate: '100',
  duration: '10',
  failure: '0',
  delay: '0',
  mix: Object.fromEntries(MIX_TYPES.map((m) => [m.type, String(m.weight)])),
}

type NumberKey = 'rate' | 'duration' | 'failure' | 'delay'

const NUMBER_FIELDS: { key: NumberKey; label: string; min: number; max: number; step?: 'any' }[] = [
  { key: 'rate', label: 'Events per second', min: 1, max: 50_000 },
  { key: 'duration', label: 'Duration (s)', min: 1, max: 3600 },
  { key: 'failure', label: 'Failure share (%)', min: 0, max: 100, step: 'any' },
  { key: 'delay', label: 'Delay share (%)', min: 0, max: 100, step: 'any' },
]

type Errors = Partial<Record<NumberKey | 'mix', string>>

function num(s: string): number {
  return s.trim() === '' ? Number.NaN : Number(s)
}

/** Checks the form and returns the request body, or the problems by field. */
export function validateLoad(f: FormState): { req: LoadRequest } | { errors: Errors } {
  const errors: Errors = {}
  const rate = num(f.rate)
  const duration = num(f.duration)
  const failure = num(f.failure)
  const delay = num(f.delay)
  if (!Number.isInteger(rate) || rate < 1 || rate > 50_000) errors.rate = 'A whole number from 1 to 50000.'
  if (!Number.isInteger(duration) || duration < 1 || duration > 3600)
    errors.duration = 'A whole number of seconds from 1 to 3600.'
  if (!(failure >= 0 && failure <= 100)) errors.failure = 'A percentage from 0 to 100.'
  if (!(delay >= 0 && delay <= 100)) errors.delay = 'A percentage from 0 to 100.'
  const mix: Record<string, number> = {}
  let sum = 0
  for (const { type } of MIX_TYPES) {
    const w = num(f.mix[type] ?? '')
    if (!(w >= 0)) {
      errors.mix = `The weight of ${type} must be a number, 0 or more.`
      break
    }
    if (w > 0) mix[type] = w
    sum += w
  }
  if (errors.mix === undefined && sum <= 0) errors.mix = 'At least one weight must be above 0.'
  if (Object.keys(errors).length > 0) return { errors }
  return {
    req: {
      events_per_second: rate,
      duration_seconds: duration,
      failure_rate: failure / 100,
      delay_rate: delay / 100,
      mix,
    },
  }
}

function NumberField({
  id,
  label,
  value,
  error,
  onChange,
  min,
  max,
  step,
}: {
  id: string
  label: string
  value: string
  error?: string
  onChange: (v: string) => void
  min: number
  max?: number
  step?: number | 'any'
}) {
  return (
    <Field>
      <Label htmlFor={id}>{label}</Label>
      <Input
        id={id}
        type="number"
        inputMode="decimal"
        min={min}
        max={max}
        step={step}
        className="w-32 tabular-nums"
        value={value}
        aria-invalid={error !== undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {error && (
        <Hint id={`${id}-error`} error>
          {error}
        </Hint>
      )}
    </Field>
  )
}

/** How each run state reads. */
export const STATUS_LABEL: Record<LoadStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  stopped: 'Stopped',
  failed: 'Failed',
}

/** How long a run ran: to its end, or to now while it runs. */
export function runDuration(run: LoadRun, now = Date.now()): number {
  const end = run.ended_at ? Date.parse(run.ended_at) : now
  return end - Date.parse(run.started_at)
}

function RunStatus({ run }: { run: LoadRun }) {
  const pct = Math.round(Math.min(1, Math.max(0, run.progress)) * 100)
  const items: [string, string][] = [
    ['Status', STATUS_LABEL[run.status]],
    ['Sent', count(run.sent)],
    ['Acked', count(run.acked)],
    ['Failed', count(run.failed)],
    ['Target', count(run.target)],
    ['Throughput', `${run.current_rate.toFixed(0)} events/s`],
    ['Started', clockTime(run.started_at)],
    // A run that ended reads when it ended (a stopped one, when it was stopped), not when it was planned to.
    run.ended_at ? ['Ended', clockTime(run.ended_at)] : ['Ends', clockTime(run.ends_at)],
  ]
  return (
    <div className="flex flex-col gap-3">
      <div>
        <div className="mb-1 flex justify-between gap-2 text-xs tabular-nums">
          <span id="load-progress-label">
            Run {run.id.slice(0, 8)}: {run.events_per_second} events/s for {run.duration_seconds} s
          </span>
          <span>{pct}%</span>
        </div>
        <div
          role="progressbar"
          aria-labelledby="load-progress-label"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          aria-valuetext={`${pct}% (${count(run.acked)} of ${count(run.target)} acknowledged)`}
          className="h-3 w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800"
        >
          <div className={`h-full transition-[width] ${BAR[run.status]}`} style={{ width: `${pct}%` }} />
        </div>
      </div>
      <StatList label="Load run" items={items} />
      {run.error &&
        (run.status === 'failed' ? (
          <ErrorText>The run failed: {run.error}</ErrorText>
        ) : (
          <ErrorText>
            {count(run.failed)} sends failed, the first with: {run.error}
          </ErrorText>
        ))}
    </div>
  )
}

const BAR: Record<LoadStatus, string> = {
  running: 'bg-blue-600',
  completed: 'bg-green-600',
  stopped: 'bg-slate-500',
  failed: 'bg-red-500',
}

const RUN_COLUMNS: readonly Column<LoadRun>[] = [
  { header: 'State', cell: (r) => STATUS_LABEL[r.status] },
  { header: 'Started', cell: (r) => dateTime(r.started_at) },
  { header: 'Duration', cell: (r) => duration(runDuration(r)) },
  { header: 'Rate', cell: (r) => `${count(r.events_per_second)} events/s` },
  { header: 'Sent', cell: (r) => count(r.sent) },
  { header: 'Failed', cell: (r) => count(r.failed) },
]

interface Props {
  runningPollMs?: number
  idlePollMs?: number
}

/** Generated load runs: a form to start one, its progress and live throughput, and Stop. */
export function LoadView({ runningPollMs = 1000, idlePollMs = 5000 }: Props) {
  const id = useId()
  const load = useLoad(runningPollMs, idlePollMs)
  const polledRunning = load.data?.status === 'running'
  const past = useLoadRuns(polledRunning ? runningPollMs : idlePollMs)
  const [form, setForm] = useState<FormState>(INITIAL)
  const [errors, setErrors] = useState<Errors>({})
  const queryClient = useQueryClient()
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.load })
  const startRun = useMutation({
    mutationKey: keys.startLoad,
    mutationFn: startLoad,
    // A 409 means a run is going: the poll shows it.
    onSettled: refresh,
  })
  const stopRun = useMutation({ mutationKey: keys.stopLoad, mutationFn: stopLoad, onSettled: refresh })
  const busy = startRun.isPending || stopRun.isPending
  const operate = useAllowed('operator')
  // The error is the latest action's; the run it answered stays until another answer replaces it.
  const [latest, other] = stopRun.submittedAt > startRun.submittedAt ? [stopRun, startRun] : [startRun, stopRun]
  const error =
    latest.error === null
      ? null
      : latest.error instanceof ApiError && latest.error.status === 409
        ? 'A load run is already going: wait for it to finish or stop it first.'
        : errorMessage(latest.error)
  const started: LoadRun | null = latest.data ?? other.data ?? null

  // The newest of the polled state and the answer to our own start/stop.
  const polled = load.data !== null && load.data.status !== 'idle' ? load.data : null
  const run =
    started !== null && (polled === null || polled.id !== started.id || started.sent > polled.sent) ? started : polled
  const running = run?.status === 'running'

  const start = (e: React.FormEvent) => {
    e.preventDefault()
    const v = validateLoad(form)
    if ('errors' in v) {
      setErrors(v.errors)
      return
    }
    setErrors({})
    startRun.mutate(v.req)
  }

  const stop = () => stopRun.mutate()

  const set = (k: NumberKey) => (v: string) => setForm((f) => ({ ...f, [k]: v }))

  return (
    <div className="grid gap-6 xl:grid-cols-2">
      <Card title="Load Run">
        <form onSubmit={start} aria-label="Start a load run" noValidate className="flex flex-col gap-4">
          <div className="flex flex-wrap gap-4">
            {NUMBER_FIELDS.map((f) => (
              <NumberField
                key={f.key}
                id={`${id}-${f.key}`}
                label={f.label}
                value={form[f.key]}
                error={errors[f.key]}
                onChange={set(f.key)}
                min={f.min}
                max={f.max}
                step={f.step}
              />
            ))}
          </div>
          <fieldset className="flex flex-wrap gap-4" aria-describedby={errors.mix ? `${id}-mix-error` : undefined}>
            <legend className="mb-1 text-xs font-medium text-slate-700 dark:text-slate-300">
              Mix (relative weight per event type)
            </legend>
            {MIX_TYPES.map(({ type }) => (
              <Field key={type}>
                <Label htmlFor={`${id}-mix-${type}`} className="font-normal">
                  {type}
                </Label>
                <Input
                  id={`${id}-mix-${type}`}
                  type="number"
                  min={0}
                  step="any"
                  className="w-24 tabular-nums"
                  value={form.mix[type] ?? ''}
                  aria-invalid={errors.mix !== undefined}
                  onChange={(e) => setForm((f) => ({ ...f, mix: { ...f.mix, [type]: e.target.value } }))}
                />
              </Field>
            ))}
            {errors.mix && (
              <span className="w-full">
                <Hint id={`${id}-mix-error`} error>
                  {errors.mix}
                </Hint>
              </span>
            )}
          </fieldset>
          <div className="flex flex-wrap items-end gap-4">
            <div className="flex gap-2">
              <Button
                type="submit"
                variant="primary"
                disabled={busy || running || !operate.allowed}
                title={operate.why}
              >
                Start
              </Button>
              <Button disabled={busy || !running || !operate.allowed} title={operate.why} onClick={stop}>
                Stop
              </Button>
            </div>
            <RoleNote permission={operate} />
          </div>
        </form>
        {error && (
          <div className="mt-3">
            <ErrorText>{error}</ErrorText>
          </div>
        )}
      </Card>
      <Card title="Progress">
        {load.error && <ErrorText>Could not load the run state: {load.error}</ErrorText>}
        {run === null ? (
          load.data === null && !load.error ? (
            <Loading />
          ) : (
            <Empty>No load run yet.</Empty>
          )
        ) : (
          <RunStatus run={run} />
        )}
      </Card>
      <Card title="Past Runs" className="xl:col-span-2">
        <p className="mb-2 text-xs text-slate-600 dark:text-slate-400">
          The last 20 runs. The server keeps them in memory: a restart forgets them.
        </p>
        {past.error && <ErrorText>Could not load the past runs: {past.error}</ErrorText>}
        {past.data === null ? (
          !past.error && <Loading />
        ) : past.data.runs.length === 0 ? (
          <Empty>No runs yet.</Empty>
        ) : (
          <DataTable caption="Past load runs" columns={RUN_COLUMNS} rows={past.data.runs} rowKey={(r) => r.id} />
        )}
      </Card>
    </div>
  )
}
