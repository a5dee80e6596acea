import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { deletePlanEntry, putPlanEntry } from '../api/client'
import { keys } from '../api/queries'
import { isRange, type PlanEntry, type PlanWarning, type Range } from '../api/schema'
import { RoleNote } from '../components/RoleNote'
import { RangePicker, rangeLabel } from '../components/RangePicker'
import { Badge } from '../components/ui/Badge'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { Field, Hint, Input, Label, Select } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime, errorMessage } from '../format'
import { useAllowed } from '../hooks/role'
import { useRouteParams } from '../hooks/route'
import { usePlan, usePlanWarnings, useSources } from '../hooks/resources'

/** A schema as the editor shows it: indented JSON. */
export function pretty(schema: unknown): string {
  return JSON.stringify(schema, null, 2)
}

/** The schema a user typed, or why it is not JSON. */
export function parseSchema(text: string): { schema: unknown } | { error: string } {
  if (text.trim() === '') return { error: 'schema: is required (true accepts any properties)' }
  try {
    return { schema: JSON.parse(text) as unknown }
  } catch (e) {
    return { error: `schema: is not JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
}

/** Which field of the editor an error is about: the server's message names it after the event type. */
function fieldOf(message: string | null): 'event_type' | 'description' | 'schema' | null {
  if (message === null) return null
  for (const f of ['event_type', 'description', 'schema'] as const) if (message.includes(`${f}:`)) return f
  return null
}

const TEMPLATE = `{
  "type": "object",
  "required": ["plan"],
  "properties": {
    "plan": { "enum": ["free", "pro"] }
  }
}`

interface Draft {
  eventType: string
  description: string
  schema: string
}

function Editor({ draft, onDraft }: { draft: Draft; onDraft: (d: Draft) => void }) {
  const id = useId()
  const queryClient = useQueryClient()
  const [localError, setLocalError] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const put = useMutation({
    mutationKey: keys.putPlanEntry,
    mutationFn: (v: { eventType: string; description: string; schema: unknown }) =>
      putPlanEntry(v.eventType, v.description, v.schema),
    onSuccess: (e) => setSaved(e.event_type),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.plan }),
  })
  const message = localError ?? (put.error === null ? null : errorMessage(put.error))
  const edit = useAllowed('admin')
  const field = fieldOf(message)
  const invalid = (f: string) => field === f
  const describedBy = (f: string, hint?: string) =>
    [hint, invalid(f) ? `${id}-error` : undefined].filter(Boolean).join(' ') || undefined
  const submit = (e: React.FormEvent) => {
    e.preventDefault()
    setSaved(null)
    const parsed = parseSchema(draft.schema)
    if ('error' in parsed) {
      setLocalError(parsed.error)
      return
    }
    setLocalError(null)
    put.mutate({ eventType: draft.eventType.trim(), description: draft.description, schema: parsed.schema })
  }
  return (
    <form onSubmit={submit} aria-label="Add or change an event type" noValidate className="flex flex-col gap-4">
      <div className="flex flex-wrap gap-4">
        <Field>
          <Label htmlFor={`${id}-type`}>Event type</Label>
          <Input
            id={`${id}-type`}
            value={draft.eventType}
            required
            className="w-56 font-mono"
            placeholder="signup"
            aria-invalid={invalid('event_type')}
            aria-describedby={describedBy('event_type')}
            onChange={(e) => onDraft({ ...draft, eventType: e.target.value })}
          />
        </Field>
        <Field className="min-w-64 flex-1">
          <Label htmlFor={`${id}-description`}>Description</Label>
          <Input
            id={`${id}-description`}
            value={draft.description}
            placeholder="When an account is made"
            aria-invalid={invalid('description')}
            aria-describedby={describedBy('description')}
            onChange={(e) => onDraft({ ...draft, description: e.target.value })}
          />
        </Field>
      </div>
      <Field>
        <Label htmlFor={`${id}-schema`}>JSON Schema of the properties</Label>
        <textarea
          id={`${id}-schema`}
          rows={10}
          spellCheck={false}
          value={draft.schema}
          aria-invalid={invalid('schema')}
          aria-describedby={describedBy('schema', `${id}-schema-hint`)}
          onChange={(e) => onDraft({ ...draft, schema: e.target.value })}
          className="rounded-md border border-slate-300 bg-white px-2 py-1.5 font-mono text-xs text-slate-900 focus-visible:outline-2 focus-visible:outline-blue-600 aria-[invalid=true]:border-red-600 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
        />
        <Hint id={`${id}-schema-hint`}>
          Draft 2020-12: required properties, types, allowed values (enum), formats, patterns. References stay inside
          the schema ($defs). <code className="font-mono">true</code> accepts any properties.
        </Hint>
      </Field>
      <div className="flex flex-wrap items-end gap-4">
        <Button
          type="submit"
          variant="primary"
          disabled={put.isPending || draft.eventType.trim() === '' || !edit.allowed}
          title={edit.why}
        >
          Save event type
        </Button>
        <RoleNote permission={edit} />
      </div>
      {message && (
        <p id={`${id}-error`} role="alert" className="text-sm text-red-700 dark:text-red-400">
          {message}
        </p>
      )}
      {saved && message === null && (
        <p role="status" className="text-sm">
          Saved {saved}: the collector holds events to it within 5 s on every server.
        </p>
      )}
    </form>
  )
}

function EntryRow({ entry, onEdit }: { entry: PlanEntry; onEdit: (e: PlanEntry) => void }) {
  const [confirming, setConfirming] = useState(false)
  const queryClient = useQueryClient()
  const edit = useAllowed('admin')
  const remove = useMutation({
    mutationKey: keys.deletePlanEntry,
    mutationFn: () => deletePlanEntry(entry.event_type),
    onSettled: () => {
      setConfirming(false)
      return queryClient.invalidateQueries({ queryKey: keys.plan })
    },
  })
  return (
    <li className="flex flex-col gap-2 border-b border-slate-200 py-4 last:border-b-0 dark:border-slate-800">
      <div className="flex flex-wrap items-center gap-2">
        <h3 className="font-mono text-base font-semibold">{entry.event_type}</h3>
        <span className="text-xs text-slate-600 dark:text-slate-400">updated {dateTime(entry.updated_at)}</span>
      </div>
      {entry.description !== '' && <p className="text-sm">{entry.description}</p>}
      <details>
        <summary className="cursor-pointer text-sm">Schema</summary>
        <pre
          aria-label={`The schema of ${entry.event_type}`}
          className="mt-1 max-h-80 overflow-auto rounded-md bg-slate-100 p-2 font-mono text-xs dark:bg-slate-800"
        >
          {pretty(entry.schema)}
        </pre>
      </details>
      <div className="flex flex-wrap items-center gap-2">
        <Button onClick={() => onEdit(entry)} aria-label={`Edit ${entry.event_type}`}>
          Edit
        </Button>
        {confirming ? (
          <>
            <span className="text-sm">
              Take {entry.event_type} out of the plan? Sources in warn or strict mode then count it as unknown.
            </span>
            <Button tone="red" variant="primary" disabled={remove.isPending} onClick={() => remove.mutate()}>
              Remove
            </Button>
            <Button onClick={() => setConfirming(false)}>Cancel</Button>
          </>
        ) : (
          <Button
            disabled={!edit.allowed}
            title={edit.why}
            onClick={() => setConfirming(true)}
            aria-label={`Remove ${entry.event_type}…`}
          >
            Remove…
          </Button>
        )}
      </div>
      {remove.error && <ErrorText>{errorMessage(remove.error)}</ErrorText>}
    </li>
  )
}

/** An event as sent: JSON indented, or the cut text of a long one. */
export function exampleText(example: unknown): string {
  return typeof example === 'string' ? example : pretty(example)
}

function Warnings({ pollMs }: { pollMs: number }) {
  const id = useId()
  const [params, setParams] = useRouteParams()
  const asked = params.get('range')
  const range: Range = isRange(asked) ? asked : '24h'
  const source = params.get('source') ?? ''
  const sources = useSources(60_000)
  const warnings = usePlanWarnings(range, source, pollMs)
  const names = new Map((sources.data?.sources ?? []).map((s) => [s.id, s.name]))
  const modes = (sources.data?.sources ?? []).filter(
    (s) => s.revoked_at === null && (s.settings.plan ?? 'off') !== 'off',
  )
  const columns: readonly Column<PlanWarning>[] = [
    { header: 'Source', cell: (w) => names.get(w.source_id) ?? w.source_id },
    { header: 'Event type', cell: (w) => <code className="font-mono">{w.event_type}</code> },
    {
      header: 'Problem',
      cell: (w) => (
        <span>
          <code className="font-mono">{w.field}</code>: {w.reason}
        </span>
      ),
    },
    { header: 'Stored with a warning', cell: (w) => count(w.warned) },
    { header: 'Refused', cell: (w) => count(w.rejected) },
    { header: 'Last seen', cell: (w) => dateTime(w.last_at) },
    {
      header: 'Example',
      cell: (w) => (
        <details className="text-left">
          <summary className="cursor-pointer">Latest event</summary>
          <pre className="mt-1 max-h-60 max-w-md overflow-auto rounded-md bg-slate-100 p-2 font-mono whitespace-pre-wrap break-all dark:bg-slate-800">
            {exampleText(w.example)}
          </pre>
        </details>
      ),
    },
  ]
  const view = warnings.data
  return (
    <Card
      title="Ingestion Warnings"
      actions={
        <RangePicker
          value={range}
          onChange={(r) => setParams({ range: r === '24h' ? null : r }, { replace: true })}
          label="Warnings range"
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
              </option>
            ))}
          </Select>
        </Field>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {modes.length === 0
            ? 'No source holds its events to the plan yet: set a source’s plan mode to warn or strict on Sources.'
            : `Held to the plan: ${modes.map((s) => `${s.name} (${s.settings.plan ?? 'off'})`).join(', ')}.`}
        </p>
      </div>
      {warnings.error && <ErrorText>Could not load the warnings: {warnings.error}</ErrorText>}
      {view === null ? (
        !warnings.error && <Loading />
      ) : view.warnings.length === 0 ? (
        <Empty>Nothing broke the plan in the last {rangeLabel(range)}.</Empty>
      ) : (
        <DataTable
          caption="Ingestion warnings"
          columns={columns}
          rows={view.warnings}
          rowKey={(w) => `${w.source_id} ${w.event_type} ${w.problem}`}
        />
      )}
    </Card>
  )
}

/** The tracking plan: a schema per event type, edited here, and what broke it per source. */
export function PlanPage({ pollMs = 10_000 }: { pollMs?: number }) {
  const plan = usePlan(pollMs)
  const [draft, setDraft] = useState<Draft>({ eventType: '', description: '', schema: TEMPLATE })
  const data = plan.data
  return (
    <div className="grid gap-6 xl:grid-cols-2">
      <Card title="Event Type">
        <Editor draft={draft} onDraft={setDraft} />
      </Card>
      <Card title="Tracking Plan">
        {plan.error && <ErrorText>Could not load the plan: {plan.error}</ErrorText>}
        {data === null ? (
          !plan.error && <Loading />
        ) : data.entries.length === 0 ? (
          <Empty>
            The plan is empty. Add an event type here, or apply a file with{' '}
            <code className="font-mono">pulse plan apply plan.json</code>.
          </Empty>
        ) : (
          <>
            <p className="text-sm">
              <Badge tone="blue">{count(data.entries.length)}</Badge> event types. Any other type counts as unknown.
            </p>
            <ul aria-label="Event types">
              {data.entries.map((e) => (
                <EntryRow
                  key={e.event_type}
                  entry={e}
                  onEdit={(x) =>
                    setDraft({ eventType: x.event_type, description: x.description, schema: pretty(x.schema) })
                  }
                />
              ))}
            </ul>
          </>
        )}
      </Card>
      <div className="xl:col-span-2">
        <Warnings pollMs={pollMs} />
      </div>
    </div>
  )
}
