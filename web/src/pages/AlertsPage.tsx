import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { createAlertRule, deleteAlertRule, silenceAlertRule, updateAlertRule, type AlertRuleInput } from '../api/alerts'
import { alertHistoryQuery, keys } from '../api/queries'
import { ALERT_SIGNALS, type AlertEvent, type AlertRule, type AlertSignal } from '../api/schema'
import { RoleNote } from '../components/RoleNote'
import { Badge, type BadgeTone } from '../components/ui/Badge'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { Field, Hint, Input, Label, Select } from '../components/ui/Field'
import { LoadOlder } from '../components/ui/LoadOlder'
import { DataTable, type Column } from '../components/ui/Table'
import { ErrorText, Loading } from '../components/ui/State'
import { dateTime, errorMessage } from '../format'
import { useAlertRules } from '../hooks/resources'
import { useAllowed } from '../hooks/role'

/** What each signal measures, in words, for the form and the table. */
export const SIGNAL_LABEL: Record<AlertSignal, string> = {
  lag_seconds: 'Consumer lag (seconds)',
  consumers: 'Consumers in the group',
  dlq_rate: 'Dead letters per minute',
  error_rate: 'Failed messages (%)',
  ingest_vs_last_week: 'Ingest vs. same window last week (%)',
  event_count: 'Events of a type or page',
}

/** Whether a signal is taken over a window (lag and consumers are read as they stand). */
export const windowed = (s: AlertSignal) => s !== 'lag_seconds' && s !== 'consumers'

/** A Go duration as people write it: "5m0s" is 5m, "1h0m0s" is 1h, "0s" is 0. */
export function shortDuration(d: string | undefined): string {
  if (d === undefined || d === '') return ''
  const out = d.replace(/(\d)h0m0s$/, '$1h').replace(/(\d)m0s$/, '$1m')
  return out === '0s' ? '0' : out
}

/** The rule in words: "Consumer lag (seconds) above 5 for 1m". */
export function describeRule(r: AlertRule): string {
  let s = SIGNAL_LABEL[r.signal]
  if (r.event_type) s += ` — ${r.event_type}`
  if (r.page) s += ` on ${r.page}`
  if (windowed(r.signal) && r.window) s += ` over ${shortDuration(r.window)}`
  s += ` ${r.op} ${r.threshold}`
  if (r.signal === 'event_count' && r.compare === 'previous_period') s += '% of the window before'
  if (shortDuration(r.for) !== '0') s += ` for ${shortDuration(r.for)}`
  return s
}

const STATE_TONE: Record<AlertRule['state'], BadgeTone> = { ok: 'green', pending: 'amber', firing: 'red' }
const KIND_TONE: Record<AlertEvent['kind'], BadgeTone> = { firing: 'red', repeat: 'rose', resolved: 'green' }
const STATUS_TONE: Record<AlertEvent['status'], BadgeTone> = {
  pending: 'amber',
  delivered: 'green',
  failed: 'red',
  none: 'slate',
}

interface FormState {
  name: string
  signal: AlertSignal
  eventType: string
  page: string
  compare: 'value' | 'previous_period'
  window: string
  op: 'above' | 'below'
  threshold: string
  for: string
  hysteresis: string
  repeat: string
  webhookURL: string
  format: 'json' | 'slack'
  enabled: boolean
}

const EMPTY: FormState = {
  name: '',
  signal: 'lag_seconds',
  eventType: '',
  page: '',
  compare: 'value',
  window: '5m',
  op: 'above',
  threshold: '5',
  for: '1m',
  hysteresis: '0',
  repeat: '1h',
  webhookURL: '',
  format: 'json',
  enabled: true,
}

function formOf(r: AlertRule): FormState {
  return {
    name: r.name,
    signal: r.signal,
    eventType: r.event_type ?? '',
    page: r.page ?? '',
    compare: r.compare ?? 'value',
    window: shortDuration(r.window) || '5m',
    op: r.op,
    threshold: String(r.threshold),
    for: shortDuration(r.for),
    hysteresis: String(r.hysteresis),
    repeat: shortDuration(r.repeat),
    webhookURL: r.webhook_url,
    format: r.webhook_format,
    enabled: r.enabled,
  }
}

/** The body the API takes; a number that does not read as one goes as -1, which the server refuses naming the field. */
export function inputOf(f: FormState): AlertRuleInput {
  const num = (s: string) => (s.trim() === '' || Number.isNaN(Number(s)) ? -1 : Number(s))
  const dur = (s: string) => (s.trim() === '' ? '0s' : s.trim())
  const event = f.signal === 'event_count'
  return {
    name: f.name.trim(),
    signal: f.signal,
    ...(event ? { event_type: f.eventType.trim(), page: f.page.trim(), compare: f.compare } : {}),
    ...(windowed(f.signal) ? { window: dur(f.window) } : {}),
    op: f.op,
    threshold: num(f.threshold),
    for: dur(f.for),
    hysteresis: num(f.hysteresis),
    repeat: dur(f.repeat),
    webhook_url: f.webhookURL.trim(),
    webhook_format: f.format,
    enabled: f.enabled,
  }
}

function RuleForm({ editing, onDone }: { editing: AlertRule | null; onDone: () => void }) {
  const id = useId()
  const [form, setForm] = useState<FormState>(editing ? formOf(editing) : EMPTY)
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setForm((f) => ({ ...f, [k]: v }))
  const queryClient = useQueryClient()
  const operate = useAllowed('operator')
  const save = useMutation({
    mutationKey: ['alerts', 'save'],
    mutationFn: (r: AlertRuleInput) => (editing ? updateAlertRule(editing.id, r) : createAlertRule(r)),
    onSuccess: () => {
      setForm(EMPTY)
      onDone()
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.alertRules }),
  })
  const message = save.error === null ? null : errorMessage(save.error)
  const submit = (e: React.FormEvent) => {
    e.preventDefault()
    save.mutate(inputOf(form))
  }
  const event = form.signal === 'event_count'
  return (
    <form
      onSubmit={submit}
      aria-label={editing ? `Edit rule ${editing.name}` : 'New alert rule'}
      noValidate
      className="flex flex-col gap-4"
    >
      <div className="flex flex-wrap gap-4">
        <Field>
          <Label htmlFor={`${id}-name`}>Name</Label>
          <Input id={`${id}-name`} value={form.name} className="w-56" onChange={(e) => set('name', e.target.value)} />
        </Field>
        <Field>
          <Label htmlFor={`${id}-signal`}>Signal</Label>
          <Select
            id={`${id}-signal`}
            value={form.signal}
            onChange={(e) => set('signal', e.target.value as AlertSignal)}
          >
            {ALERT_SIGNALS.map((s) => (
              <option key={s} value={s}>
                {SIGNAL_LABEL[s]}
              </option>
            ))}
          </Select>
        </Field>
        {event && (
          <>
            <Field>
              <Label htmlFor={`${id}-type`}>Event type</Label>
              <Input
                id={`${id}-type`}
                value={form.eventType}
                placeholder="any"
                className="w-36"
                onChange={(e) => set('eventType', e.target.value)}
              />
            </Field>
            <Field>
              <Label htmlFor={`${id}-page`}>Page</Label>
              <Input
                id={`${id}-page`}
                value={form.page}
                placeholder="any"
                className="w-48"
                onChange={(e) => set('page', e.target.value)}
              />
            </Field>
            <Field>
              <Label htmlFor={`${id}-compare`}>Compare</Label>
              <Select
                id={`${id}-compare`}
                value={form.compare}
                onChange={(e) => set('compare', e.target.value as FormState['compare'])}
              >
                <option value="value">the count</option>
                <option value="previous_period">% of the window before</option>
              </Select>
            </Field>
          </>
        )}
        {windowed(form.signal) && (
          <Field>
            <Label htmlFor={`${id}-window`}>Window</Label>
            <Input
              id={`${id}-window`}
              value={form.window}
              className="w-20"
              onChange={(e) => set('window', e.target.value)}
            />
          </Field>
        )}
      </div>
      <div className="flex flex-wrap gap-4">
        <Field>
          <Label htmlFor={`${id}-op`}>When</Label>
          <Select id={`${id}-op`} value={form.op} onChange={(e) => set('op', e.target.value as FormState['op'])}>
            <option value="above">above</option>
            <option value="below">below</option>
          </Select>
        </Field>
        <Field>
          <Label htmlFor={`${id}-threshold`}>Threshold</Label>
          <Input
            id={`${id}-threshold`}
            inputMode="decimal"
            value={form.threshold}
            className="w-24"
            onChange={(e) => set('threshold', e.target.value)}
          />
        </Field>
        <Field>
          <Label htmlFor={`${id}-for`}>For</Label>
          <Input id={`${id}-for`} value={form.for} className="w-20" onChange={(e) => set('for', e.target.value)} />
        </Field>
        <Field>
          <Label htmlFor={`${id}-hysteresis`}>Hysteresis</Label>
          <Input
            id={`${id}-hysteresis`}
            inputMode="decimal"
            value={form.hysteresis}
            className="w-24"
            aria-describedby={`${id}-hysteresis-hint`}
            onChange={(e) => set('hysteresis', e.target.value)}
          />
          <Hint id={`${id}-hysteresis-hint`}>How far back past the threshold to resolve</Hint>
        </Field>
        <Field>
          <Label htmlFor={`${id}-repeat`}>Repeat every</Label>
          <Input
            id={`${id}-repeat`}
            value={form.repeat}
            className="w-20"
            aria-describedby={`${id}-repeat-hint`}
            onChange={(e) => set('repeat', e.target.value)}
          />
          <Hint id={`${id}-repeat-hint`}>0: notify once</Hint>
        </Field>
      </div>
      <div className="flex flex-wrap gap-4">
        <Field className="min-w-64 flex-1">
          <Label htmlFor={`${id}-url`}>Webhook URL</Label>
          <Input
            id={`${id}-url`}
            value={form.webhookURL}
            placeholder="https://hooks.example.com/pulse"
            onChange={(e) => set('webhookURL', e.target.value)}
          />
        </Field>
        <Field>
          <Label htmlFor={`${id}-format`}>Body</Label>
          <Select
            id={`${id}-format`}
            value={form.format}
            onChange={(e) => set('format', e.target.value as FormState['format'])}
          >
            <option value="json">Generic JSON</option>
            <option value="slack">Slack-compatible</option>
          </Select>
        </Field>
      </div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} />
        Enabled
      </label>
      <div className="flex flex-wrap items-end gap-4">
        <Button type="submit" variant="primary" disabled={save.isPending || !operate.allowed} title={operate.why}>
          {editing ? 'Save rule' : 'Add rule'}
        </Button>
        {editing && (
          <Button type="button" variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        )}
        <RoleNote permission={operate} />
      </div>
      {message && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {message}
        </p>
      )}
    </form>
  )
}

function RuleActions({ rule, onEdit }: { rule: AlertRule; onEdit: () => void }) {
  const queryClient = useQueryClient()
  const operate = useAllowed('operator')
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['alerts'] })
  const silence = useMutation({
    mutationKey: ['alerts', 'silence', rule.id],
    mutationFn: (d: string | null) => silenceAlertRule(rule.id, d),
    onSettled: refresh,
  })
  const remove = useMutation({
    mutationKey: ['alerts', 'delete', rule.id],
    mutationFn: () => deleteAlertRule(rule.id),
    onSettled: refresh,
  })
  const [confirming, setConfirming] = useState(false)
  const error = silence.error ?? remove.error
  const busy = silence.isPending || remove.isPending || !operate.allowed
  const file = rule.source === 'file'
  return (
    <div className="flex flex-col items-end gap-1 @2xl:items-start">
      <div className="flex flex-wrap gap-1">
        {rule.silenced_until ? (
          <Button
            variant="quiet"
            disabled={busy}
            title={operate.why}
            aria-label={`Lift the silence of ${rule.name}`}
            onClick={() => silence.mutate(null)}
          >
            Unsilence
          </Button>
        ) : (
          <Button
            variant="quiet"
            disabled={busy}
            title={operate.why}
            aria-label={`Silence ${rule.name} for 1 hour`}
            onClick={() => silence.mutate('1h')}
          >
            Silence 1h
          </Button>
        )}
        {!file && (
          <>
            <Button
              variant="quiet"
              disabled={!operate.allowed}
              title={operate.why}
              aria-label={`Edit ${rule.name}`}
              onClick={onEdit}
            >
              Edit
            </Button>
            {confirming ? (
              <Button
                variant="secondary"
                tone="red"
                disabled={busy}
                aria-label={`Confirm deleting ${rule.name}`}
                onClick={() => remove.mutate()}
              >
                Delete (its history stays)
              </Button>
            ) : (
              <Button
                variant="quiet"
                tone="red"
                disabled={busy}
                title={operate.why}
                aria-label={`Delete ${rule.name}`}
                onClick={() => setConfirming(true)}
              >
                Delete
              </Button>
            )}
          </>
        )}
      </div>
      {error && (
        <p role="alert" className="text-xs text-red-700 dark:text-red-400">
          {errorMessage(error)}
        </p>
      )}
    </div>
  )
}

function value(v: number | null): string {
  if (v === null) return '—'
  return Number.isInteger(v) ? String(v) : v.toFixed(2)
}

function Attempts({ e }: { e: AlertEvent }) {
  if (e.deliveries.length === 0) return null
  return (
    <ol aria-label={`Delivery attempts of event ${e.id}`} className="mt-1 flex flex-col gap-0.5 text-[11px]">
      {e.deliveries.map((d, i) => (
        <li
          key={i}
          className={d.error === '' ? 'text-green-700 dark:text-green-400' : 'text-red-700 dark:text-red-400'}
        >
          {dateTime(d.at)}: {d.status_code === 0 ? 'no answer' : d.status_code}
          {d.error !== '' ? ` — ${d.error}` : ''}
        </li>
      ))}
    </ol>
  )
}

function History({ rules }: { rules: readonly AlertRule[] }) {
  const id = useId()
  const [rule, setRule] = useState('')
  const pages = useInfiniteQuery(alertHistoryQuery(rule, 5000))
  const events = pages.data?.pages.flatMap((p) => p.events) ?? null
  const columns: Column<AlertEvent>[] = [
    { header: 'Time', cell: (e) => dateTime(e.at), className: 'whitespace-nowrap' },
    { header: 'Rule', cell: (e) => e.rule_name },
    {
      header: 'Change',
      cell: (e) => (
        <span className="flex items-center gap-1">
          <Badge tone={KIND_TONE[e.kind]}>{e.kind}</Badge>
          {e.silenced && <Badge>silenced</Badge>}
        </span>
      ),
    },
    { header: 'Value', cell: (e) => value(e.value) },
    {
      header: 'Notification',
      cell: (e) => (
        <div>
          <Badge tone={STATUS_TONE[e.status]}>{e.status === 'none' ? 'not sent' : e.status}</Badge>
          {e.attempts > 0 && <span className="ml-1">{e.attempts === 1 ? '1 attempt' : `${e.attempts} attempts`}</span>}
          {e.next_attempt_at && <span className="ml-1">next {dateTime(e.next_attempt_at)}</span>}
          <Attempts e={e} />
        </div>
      ),
    },
  ]
  return (
    <Card
      title="History"
      actions={
        <div className="flex items-center gap-2">
          <Label htmlFor={`${id}-rule`}>Rule</Label>
          <Select id={`${id}-rule`} value={rule} onChange={(e) => setRule(e.target.value)}>
            <option value="">all</option>
            {rules.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </Select>
        </div>
      }
    >
      {pages.error && <ErrorText>{errorMessage(pages.error)}</ErrorText>}
      {events === null && pages.error === null && <Loading />}
      {events && (
        <DataTable
          caption="Alert history"
          columns={columns}
          rows={events}
          rowKey={(e) => e.id}
          empty="No rule has fired yet."
        />
      )}
      <LoadOlder pages={pages} />
    </Card>
  )
}

/**
 * The alert rules: their state, silences and history, with each
 * notification's delivery attempts; operators add, change, silence and
 * delete them. The rules file's rules are listed and silenced, not changed.
 */
export function AlertsPage() {
  const rules = useAlertRules()
  const [editing, setEditing] = useState<AlertRule | null>(null)
  const columns: Column<AlertRule>[] = [
    {
      header: 'Rule',
      cell: (r) => (
        <span className="flex flex-wrap items-center gap-1">
          <span className="font-medium">{r.name}</span>
          {r.source === 'file' && <Badge tone="indigo">rules file</Badge>}
          {!r.enabled && <Badge>disabled</Badge>}
        </span>
      ),
    },
    { header: 'Condition', cell: (r) => describeRule(r) },
    {
      header: 'State',
      cell: (r) => (
        <span className="flex flex-wrap items-center gap-1">
          <Badge tone={STATE_TONE[r.state]} strong={r.state === 'firing'}>
            {r.state}
          </Badge>
          {r.since && r.state !== 'ok' && <span>since {dateTime(r.since)}</span>}
          {r.silenced_until && <Badge tone="slate">silenced until {dateTime(r.silenced_until)}</Badge>}
        </span>
      ),
    },
    { header: 'Value at change', cell: (r) => value(r.value) },
    { header: 'Webhook', cell: (r) => (r.webhook_url === '' ? 'none' : r.webhook_url), className: 'break-all' },
    {
      header: 'Actions',
      hideHeader: true,
      cell: (r) => <RuleActions rule={r} onEdit={() => setEditing(r)} />,
    },
  ]
  return (
    <>
      <Card title="Rules">
        {rules.error && <ErrorText>{rules.error}</ErrorText>}
        {rules.data === null && rules.error === null && <Loading />}
        {rules.data && (
          <DataTable
            caption="Alert rules"
            columns={columns}
            rows={rules.data.rules}
            rowKey={(r) => r.id}
            empty="No rules yet: add one below, or load a rules file with --alerts-file."
          />
        )}
      </Card>
      <Card title={editing ? `Edit ${editing.name}` : 'New rule'}>
        <RuleForm key={editing?.id ?? 'new'} editing={editing} onDone={() => setEditing(null)} />
      </Card>
      <History rules={rules.data?.rules ?? []} />
    </>
  )
}
