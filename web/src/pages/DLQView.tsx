import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useMemo, useState, type ReactNode } from 'react'
import { replayDLQ } from '../api/client'
import { keys } from '../api/queries'
import type { DLQGroup, DLQRecord, ReplayRequest, ReplayResult } from '../api/schema'
import { RoleNote } from '../components/RoleNote'
import { Badge } from '../components/ui/Badge'
import { Button } from '../components/ui/Button'
import { Card, CardNote } from '../components/ui/Card'
import { Field, Hint, Input, Label } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { DataTable, type Column } from '../components/ui/Table'
import { clockTime, count, dateTime, errorMessage } from '../format'
import { useDLQ } from '../hooks/resources'
import { useAllowed } from '../hooks/role'
import { useRouteParams } from '../hooks/route'
import { MaskedValue } from '../components/MaskedValue'

/** The payload as readable text: JSON indented, anything else as it is. */
export function prettyPayload(payload: string): string {
  try {
    return JSON.stringify(JSON.parse(payload), null, 2)
  } catch {
    return payload
  }
}

interface Selection {
  /** Whole groups, by kind. */
  kinds: ReadonlySet<string>
  /** Single records, by id, outside the selected groups. */
  ids: ReadonlySet<string>
}

const NONE: Selection = { kinds: new Set(), ids: new Set() }

/**
 * The replay body for a selection: one whole group goes by kind (so records
 * beyond the listed ones are included); anything else by ids.
 */
export function selectionTarget(
  sel: Selection,
  groups: readonly DLQGroup[],
): Pick<ReplayRequest, 'ids' | 'kind'> | null {
  if (sel.kinds.size === 1 && sel.ids.size === 0) return { kind: [...sel.kinds][0] }
  const ids = new Set(sel.ids)
  for (const g of groups) if (sel.kinds.has(g.kind)) for (const r of g.records) ids.add(r.id)
  return ids.size === 0 ? null : { ids: [...ids] }
}

function RecordDetails({ r, onClose }: { r: DLQRecord; onClose: () => void }) {
  const fields: [string, ReactNode][] = [
    ['DLQ record', `${r.id} (partition ${r.partition}, offset ${r.offset})`],
    ['Original', `${r.original_topic} / partition ${r.original_partition} / offset ${r.original_offset}`],
    ['Key', <MaskedValue key="key" value={r.key} />],
    ['Event', r.event_id || '—'],
    ['Error', r.error],
    ['Kind', r.kind],
    ['Attempts', String(r.attempts)],
    ['Consumer', r.consumer_id || '—'],
    ['Failed at', dateTime(r.failed_at)],
    ['Replayed', r.replayed_at ? dateTime(r.replayed_at) : 'no'],
  ]
  return (
    <section
      aria-label={`Dead letter ${r.id}`}
      className="mt-4 rounded-md border border-slate-200 p-3 dark:border-slate-700"
    >
      <div className="mb-2 flex items-center justify-between">
        <h3 className="text-sm font-semibold">Record {r.id}</h3>
        <Button size="sm" aria-label={`Close record ${r.id}`} onClick={onClose}>
          Close
        </Button>
      </div>
      <StatList items={fields} columns="grid-cols-1 sm:grid-cols-2 xl:grid-cols-3" />
      <h4 className="mt-3 mb-1 text-xs font-medium">Payload</h4>
      <pre
        aria-label="Payload"
        className="max-h-80 overflow-auto rounded bg-slate-100 p-2 font-mono text-xs break-all whitespace-pre-wrap dark:bg-slate-950"
      >
        {prettyPayload(r.payload)}
      </pre>
    </section>
  )
}

interface GroupProps {
  g: DLQGroup
  sel: Selection
  expanded: boolean
  onToggleExpanded: () => void
  onToggleKind: (kind: string) => void
  onToggleId: (id: string) => void
  onInspect: (r: DLQRecord) => void
  onOpenTimeline?: (eventId: string) => void
}

function recordColumns(
  g: DLQGroup,
  sel: Selection,
  onToggleId: (id: string) => void,
  onInspect: (r: DLQRecord) => void,
  onOpenTimeline?: (eventId: string) => void,
): Column<DLQRecord>[] {
  const whole = sel.kinds.has(g.kind)
  return [
    {
      header: 'Selected',
      hideHeader: true,
      cell: (r) => (
        <input
          type="checkbox"
          aria-label={`Select record ${r.id}`}
          checked={whole || sel.ids.has(r.id)}
          disabled={whole}
          onChange={() => onToggleId(r.id)}
        />
      ),
    },
    { header: 'Failed at', cell: (r) => dateTime(r.failed_at) },
    { header: 'Original', cell: (r) => `${r.original_topic}/${r.original_partition}/${r.original_offset}` },
    // The key names the user and the type; a UUIDv7's first characters are
    // its time, the same on every row of a burst, so the event is shown by
    // its last (random) ones.
    { header: 'Key', cell: (r) => <MaskedValue value={r.key} />, className: 'font-mono' },
    {
      header: 'Event',
      cell: (r) => (r.event_id ? <span title={r.event_id}>…{r.event_id.slice(-8)}</span> : '—'),
      className: 'font-mono',
    },
    { header: 'Attempts', cell: (r) => r.attempts },
    {
      header: 'Error',
      cell: (r) => (
        <span title={r.error}>
          {r.error}
          {r.replayed && (
            <Badge tone="green" className="ml-2">
              replayed{r.replayed_at ? ` ${clockTime(r.replayed_at)}` : ''}
            </Badge>
          )}
        </span>
      ),
      className: '@2xl:max-w-xs @2xl:truncate',
    },
    {
      header: 'Actions',
      hideHeader: true,
      cell: (r) => (
        <span className="flex gap-1">
          <Button size="sm" aria-label={`Inspect record ${r.id}`} onClick={() => onInspect(r)}>
            Inspect
          </Button>
          {onOpenTimeline && r.event_id && (
            <Button size="sm" aria-label={`Timeline of record ${r.id}`} onClick={() => onOpenTimeline(r.event_id)}>
              Timeline
            </Button>
          )}
        </span>
      ),
    },
  ]
}

/** Records shown per page of a group: a 157-record group was one 5,000 px table. */
export const GROUP_PAGE = 25

function Group({
  g,
  sel,
  expanded,
  onToggleExpanded,
  onToggleKind,
  onToggleId,
  onInspect,
  onOpenTimeline,
}: GroupProps) {
  const listId = useId()
  const whole = sel.kinds.has(g.kind)
  const [page, setPage] = useState(0)
  const pages = Math.max(1, Math.ceil(g.records.length / GROUP_PAGE))
  // A group that shrank (records replayed, aged out) keeps a valid page.
  const at = Math.min(page, pages - 1)
  const shown = g.records.slice(at * GROUP_PAGE, (at + 1) * GROUP_PAGE)
  const replayed = g.records.filter((r) => r.replayed).length
  return (
    <li className="rounded-md border border-slate-200 dark:border-slate-800">
      <div className="flex flex-wrap items-center gap-3 px-3 py-2">
        <label className="relative flex items-center gap-2 text-xs">
          <input type="checkbox" checked={whole} onChange={() => onToggleKind(g.kind)} />
          <span>
            Select group <span className="sr-only">{g.kind}</span>
          </span>
        </label>
        <button
          type="button"
          aria-expanded={expanded}
          aria-controls={listId}
          onClick={onToggleExpanded}
          className="flex min-w-0 items-center gap-2 text-left text-sm font-medium hover:underline focus-visible:outline-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400"
        >
          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
          <span className="truncate">{g.kind}</span>
          <Badge tone="red">{count(g.count)}</Badge>
        </button>
        {replayed > 0 && (
          <span className="text-xs text-slate-600 dark:text-slate-400">{count(replayed)} replayed before</span>
        )}
      </div>
      {expanded && (
        <div id={listId} className="border-t border-slate-200 px-1 pb-2 dark:border-slate-800">
          <DataTable
            caption={`Records of ${g.kind}`}
            columns={recordColumns(g, sel, onToggleId, onInspect, onOpenTimeline)}
            rows={shown}
            rowKey={(r) => r.id}
          />
          {pages > 1 && (
            <nav aria-label={`Pages of ${g.kind}`} className="flex items-center gap-2 px-2 pt-2 text-xs">
              <Button size="sm" disabled={at === 0} onClick={() => setPage(at - 1)}>
                Previous
              </Button>
              <span className="tabular-nums">
                Records {count(at * GROUP_PAGE + 1)}–{count(at * GROUP_PAGE + shown.length)} of{' '}
                {count(g.records.length)}
              </span>
              <Button size="sm" disabled={at >= pages - 1} onClick={() => setPage(at + 1)}>
                Next
              </Button>
            </nav>
          )}
          {g.count > g.records.length && (
            <p className="px-2 pt-1 text-xs text-slate-600 dark:text-slate-400">
              {count(g.records.length)} of {count(g.count)} listed; selecting the group replays all of them.
            </p>
          )}
        </div>
      )}
    </li>
  )
}

function findRecord(groups: readonly DLQGroup[], id: string): DLQRecord | null {
  for (const g of groups) for (const r of g.records) if (r.id === id) return r
  return null
}

interface Props {
  pollMs?: number
  /** Opens the timeline of a message. */
  onOpenTimeline?: (eventId: string) => void
}

// The result names at most this many replayed records.
const NAMED = 20

/** Dead-letter triage: records grouped by error kind, inspection, and replay with a dry run first. */
export function DLQView({ pollMs = 5000, onOpenTimeline }: Props) {
  const dlq = useDLQ(pollMs)
  const rateId = useId()
  const [sel, setSel] = useState<Selection>(NONE)
  // The open groups and the inspected record are the URL's, so a link shows them.
  const [params, setParams] = useRouteParams()
  const expanded = useMemo(() => new Set(params.getAll('kind')), [params])
  const inspectedId = params.get('record')
  const [rate, setRate] = useState('100')
  const [strip, setStrip] = useState(true)
  const [includeReplayed, setIncludeReplayed] = useState(false)
  const queryClient = useQueryClient()
  // The dry run of the current selection; its variables are the request a
  // confirmation sends again with dry_run: false.
  const dry = useMutation({
    mutationKey: keys.replay,
    mutationFn: (req: ReplayRequest) => replayDLQ({ ...req, dry_run: true }),
  })
  const replay = useMutation({
    mutationKey: keys.replay,
    mutationFn: (req: ReplayRequest) => replayDLQ({ ...req, dry_run: false }),
    onSuccess: () => {
      dry.reset()
      setSel(NONE)
      return queryClient.invalidateQueries({ queryKey: keys.dlq })
    },
  })
  const plan: { req: ReplayRequest; result: ReplayResult } | null =
    dry.data !== undefined && dry.variables !== undefined ? { req: dry.variables, result: dry.data } : null
  const done = replay.data ?? null
  const busy = dry.isPending || replay.isPending
  const operate = useAllowed('operator')
  const failure = dry.error ?? replay.error
  const error = failure === null ? null : errorMessage(failure)

  const groups = useMemo(() => dlq.data?.groups ?? [], [dlq.data])
  const inspected = inspectedId === null ? null : findRecord(groups, inspectedId)
  const target = selectionTarget(sel, groups)
  const rateNum = Number(rate)
  const rateValid = rate.trim() !== '' && Number.isInteger(rateNum) && rateNum >= 1 && rateNum <= 1000

  // Any change to what would be replayed, or how, voids the dry run.
  const changed = () => {
    dry.reset()
    replay.reset()
  }
  const toggle = (set: ReadonlySet<string>, v: string) => {
    const next = new Set(set)
    if (!next.delete(v)) next.add(v)
    return next
  }

  const dryRun = () => {
    if (target === null || !rateValid) return
    replay.reset()
    dry.mutate({
      ...target,
      rate: rateNum,
      strip_simulation: strip,
      ...(target.kind !== undefined && includeReplayed ? { include_replayed: true } : {}),
    })
  }

  const confirm = () => {
    if (plan === null) return
    replay.mutate(plan.req)
  }

  return (
    <div className="grid gap-6 xl:grid-cols-3">
      <Card
        title="Dead Letters"
        className="xl:col-span-2"
        actions={dlq.data && <CardNote>{count(dlq.data.total)} records in the DLQ</CardNote>}
      >
        {dlq.error && <ErrorText>Could not load the dead-letter topic: {dlq.error}</ErrorText>}
        {dlq.data === null ? (
          !dlq.error && <Loading />
        ) : groups.length === 0 ? (
          <Empty>The dead-letter topic is empty.</Empty>
        ) : (
          <ul aria-label="Error kinds" className="flex flex-col gap-2">
            {groups.map((g) => (
              <Group
                key={g.kind}
                g={g}
                sel={sel}
                expanded={expanded.has(g.kind)}
                onToggleExpanded={() => setParams({ kind: [...toggle(expanded, g.kind)] }, { replace: true })}
                onToggleKind={(k) => {
                  changed()
                  setSel((s) => ({ kinds: toggle(s.kinds, k), ids: s.ids }))
                }}
                onToggleId={(id) => {
                  changed()
                  setSel((s) => ({ kinds: s.kinds, ids: toggle(s.ids, id) }))
                }}
                onInspect={(r) => setParams({ record: r.id }, { replace: true })}
                onOpenTimeline={onOpenTimeline}
              />
            ))}
          </ul>
        )}
        {inspected && <RecordDetails r={inspected} onClose={() => setParams({ record: null }, { replace: true })} />}
        {inspectedId !== null && inspected === null && dlq.data !== null && (
          <p className="mt-3 text-sm text-slate-600 dark:text-slate-400">
            Record {inspectedId} is not among the listed dead letters (replayed, or beyond the listed ones).
          </p>
        )}
      </Card>

      {/* In view beside a long list: the actions stay where the records are chosen. */}
      <Card title="Replay" className="self-start xl:sticky xl:top-4">
        <div className="flex flex-wrap items-start gap-4">
          <Field>
            <Label htmlFor={rateId}>Rate (records/s)</Label>
            <Input
              id={rateId}
              type="number"
              min={1}
              max={1000}
              className="w-28"
              value={rate}
              aria-invalid={!rateValid}
              onChange={(e) => {
                changed()
                setRate(e.target.value)
              }}
            />
            {!rateValid && <Hint error>A whole number from 1 to 1000.</Hint>}
          </Field>
          <label className="mt-5 flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={strip}
              onChange={(e) => {
                changed()
                setStrip(e.target.checked)
              }}
            />
            Strip simulation (drop should_fail and delay_seconds)
          </label>
          <label className="mt-5 flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={includeReplayed}
              onChange={(e) => {
                changed()
                setIncludeReplayed(e.target.checked)
              }}
            />
            Replay a group&apos;s records replayed before too
          </label>
        </div>
        <RoleNote permission={operate} />
        <p className="mt-3 text-sm" aria-live="polite">
          {target === null
            ? 'Select records or a whole group above.'
            : target.kind !== undefined
              ? `Selected: the whole group “${target.kind}”.`
              : `Selected: ${count(target.ids?.length ?? 0)} records.`}
        </p>
        <div className="mt-3 flex flex-wrap gap-2">
          <Button
            disabled={target === null || !rateValid || busy || !operate.allowed}
            title={operate.why}
            onClick={dryRun}
          >
            Dry run
          </Button>
          <Button
            variant="primary"
            disabled={plan === null || busy || !operate.allowed}
            title={operate.why}
            onClick={confirm}
          >
            Confirm replay{plan ? ` of ${count(plan.result.count)}` : ''}
          </Button>
        </div>
        {error && (
          <div className="mt-3">
            <ErrorText>Replay failed: {error}</ErrorText>
          </div>
        )}
        {plan && (
          <div role="status" className="mt-3 text-sm">
            <p className="font-medium">
              Dry run: {count(plan.result.count)} {plan.result.count === 1 ? 'record' : 'records'} would be replayed to
              the main topic at {plan.req.rate} records/s
              {plan.req.strip_simulation ? ', simulation flags stripped' : ''}.
              {plan.result.skipped_replayed > 0 &&
                ` ${count(plan.result.skipped_replayed)} replayed before ${plan.result.skipped_replayed === 1 ? 'is' : 'are'} skipped.`}
            </p>
            {/* Focusable: a list that scrolls must scroll from the keyboard too. */}
            <ul
              aria-label="Would be replayed"
              tabIndex={0}
              className="mt-1 max-h-48 overflow-auto font-mono text-xs focus-visible:outline-2 focus-visible:outline-blue-600"
            >
              {plan.result.records.map((r) => (
                <li key={r.id}>
                  {r.id} → event {r.event_id || '—'} (original offset {r.original_offset})
                </li>
              ))}
            </ul>
          </div>
        )}
        {done && (
          <p role="status" className="mt-3 text-sm font-medium text-green-700 dark:text-green-300">
            Replayed {count(done.count)} {done.count === 1 ? 'record' : 'records'}:{' '}
            {done.records
              .slice(0, NAMED)
              .map((r) => r.id)
              .join(', ')}
            {done.records.length > NAMED ? ` and ${count(done.records.length - NAMED)} more` : ''}
          </p>
        )}
      </Card>
    </div>
  )
}
