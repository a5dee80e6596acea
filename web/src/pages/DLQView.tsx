import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useMemo, useState } from 'react'
import { replayDLQ } from '../api/client'
import { keys } from '../api/queries'
import type { DLQGroup, DLQRecord, ReplayRequest, ReplayResult } from '../api/schema'
import { Panel } from '../components/Panel'
import { count, dateTime } from '../format'
import { useDLQ } from '../hooks/resources'
import {
  AdminTokenInput,
  BUTTON,
  BUTTON_SECONDARY,
  BUTTON_SMALL,
  ErrorText,
  errorMessage,
  INPUT,
  LABEL,
  ROW,
  TD,
  TH,
} from '../console/ui'

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
  const fields: [string, string][] = [
    ['DLQ record', `${r.id} (partition ${r.partition}, offset ${r.offset})`],
    ['Original', `${r.original_topic} / partition ${r.original_partition} / offset ${r.original_offset}`],
    ['Key', r.key || '—'],
    ['Event', r.event_id || '—'],
    ['Error', r.error],
    ['Kind', r.kind],
    ['Attempts', String(r.attempts)],
    ['Consumer', r.consumer_id || '—'],
    ['Failed at', dateTime(r.failed_at)],
    ['Replayed', r.replayed ? 'yes' : 'no'],
  ]
  return (
    <section
      aria-label={`Dead letter ${r.id}`}
      className="mt-3 rounded-md border border-slate-200 p-3 dark:border-slate-700"
    >
      <div className="mb-2 flex items-center justify-between">
        <h3 className="text-sm font-semibold">Record {r.id}</h3>
        <button type="button" aria-label={`Close record ${r.id}`} className={BUTTON_SMALL} onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="grid gap-x-4 gap-y-1 text-xs sm:grid-cols-[max-content_1fr]">
        {fields.map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="text-slate-500 dark:text-slate-400">{k}</dt>
            <dd className="break-words">{v}</dd>
          </div>
        ))}
      </dl>
      <h4 className="mt-3 mb-1 text-xs font-medium">Payload</h4>
      <pre
        aria-label="Payload"
        className="max-h-80 overflow-auto rounded bg-slate-100 p-2 text-xs whitespace-pre-wrap break-all dark:bg-slate-950"
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
          className="flex min-w-0 items-center gap-2 text-left text-sm font-medium hover:underline focus-visible:outline-2 focus-visible:outline-blue-500"
        >
          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
          <span className="truncate">{g.kind}</span>
          <span className="rounded-full bg-red-100 px-2 py-0.5 text-[11px] font-semibold text-red-800 dark:bg-red-900/60 dark:text-red-200">
            {count(g.count)}
          </span>
        </button>
      </div>
      {expanded && (
        <div id={listId} className="relative overflow-x-auto border-t border-slate-100 px-1 pb-2 dark:border-slate-800">
          <table className="w-full">
            <caption className="sr-only">Records of {g.kind}</caption>
            <thead>
              <tr>
                <th className={TH}>
                  <span className="sr-only">Selected</span>
                </th>
                <th className={TH}>Failed at</th>
                <th className={TH}>Original</th>
                <th className={TH}>Event</th>
                <th className={TH}>Attempts</th>
                <th className={TH}>Error</th>
                <th className={TH}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {g.records.map((r) => (
                <tr key={r.id} className={ROW}>
                  <td className={TD}>
                    <input
                      type="checkbox"
                      aria-label={`Select record ${r.id}`}
                      checked={whole || sel.ids.has(r.id)}
                      disabled={whole}
                      onChange={() => onToggleId(r.id)}
                    />
                  </td>
                  <td className={TD}>{dateTime(r.failed_at)}</td>
                  <td className={TD}>
                    {r.original_topic}/{r.original_partition}/{r.original_offset}
                  </td>
                  <td className={`${TD} font-mono`}>{r.event_id ? r.event_id.slice(0, 8) : '—'}</td>
                  <td className={TD}>{r.attempts}</td>
                  <td className={`${TD} max-w-xs truncate`} title={r.error}>
                    {r.error}
                    {r.replayed && (
                      <span className="ml-2 rounded-full bg-green-100 px-1.5 text-[10px] text-green-800 dark:bg-green-900/60 dark:text-green-200">
                        replayed
                      </span>
                    )}
                  </td>
                  <td className={TD}>
                    <button
                      type="button"
                      aria-label={`Inspect record ${r.id}`}
                      className={BUTTON_SMALL}
                      onClick={() => onInspect(r)}
                    >
                      Inspect
                    </button>
                    {onOpenTimeline && r.event_id && (
                      <button
                        type="button"
                        aria-label={`Timeline of record ${r.id}`}
                        className={`${BUTTON_SMALL} ml-1`}
                        onClick={() => onOpenTimeline(r.event_id)}
                      >
                        Timeline
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {g.count > g.records.length && (
            <p className="px-2 pt-1 text-[11px] text-slate-500">
              {count(g.records.length)} of {count(g.count)} listed; selecting the group replays all of them.
            </p>
          )}
        </div>
      )}
    </li>
  )
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
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set())
  const [inspected, setInspected] = useState<DLQRecord | null>(null)
  const [rate, setRate] = useState('100')
  const [strip, setStrip] = useState(true)
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
  const failure = dry.error ?? replay.error
  const error = failure === null ? null : errorMessage(failure)

  const groups = useMemo(() => dlq.data?.groups ?? [], [dlq.data])
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
    dry.mutate({ ...target, rate: rateNum, strip_simulation: strip })
  }

  const confirm = () => {
    if (plan === null) return
    replay.mutate(plan.req)
  }

  return (
    <div className="flex flex-col gap-6">
      <Panel
        title="Dead Letters"
        actions={
          dlq.data && (
            <span className="text-xs text-slate-500 dark:text-slate-400">
              {count(dlq.data.total)} records in the DLQ
            </span>
          )
        }
      >
        {dlq.error && <ErrorText>Could not load the dead-letter topic: {dlq.error}</ErrorText>}
        {dlq.data === null ? (
          !dlq.error && <p className="text-sm text-slate-500 dark:text-slate-400">Loading…</p>
        ) : groups.length === 0 ? (
          <p className="py-6 text-center text-sm text-slate-500 dark:text-slate-400">The dead-letter topic is empty.</p>
        ) : (
          <ul aria-label="Error kinds" className="flex flex-col gap-2">
            {groups.map((g) => (
              <Group
                key={g.kind}
                g={g}
                sel={sel}
                expanded={expanded.has(g.kind)}
                onToggleExpanded={() => setExpanded((e) => toggle(e, g.kind))}
                onToggleKind={(k) => {
                  changed()
                  setSel((s) => ({ kinds: toggle(s.kinds, k), ids: s.ids }))
                }}
                onToggleId={(id) => {
                  changed()
                  setSel((s) => ({ kinds: s.kinds, ids: toggle(s.ids, id) }))
                }}
                onInspect={setInspected}
                onOpenTimeline={onOpenTimeline}
              />
            ))}
          </ul>
        )}
        {inspected && <RecordDetails r={inspected} onClose={() => setInspected(null)} />}
      </Panel>

      <Panel title="Replay">
        <div className="flex flex-wrap items-start gap-4">
          <div className="flex flex-col gap-1">
            <label htmlFor={rateId} className={LABEL}>
              Rate (records/s)
            </label>
            <input
              id={rateId}
              type="number"
              min={1}
              max={1000}
              className={`${INPUT} w-28`}
              value={rate}
              aria-invalid={!rateValid}
              onChange={(e) => {
                changed()
                setRate(e.target.value)
              }}
            />
            {!rateValid && (
              <span className="text-[11px] text-red-700 dark:text-red-300">A whole number from 1 to 1000.</span>
            )}
          </div>
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
          <AdminTokenInput />
        </div>
        <p className="mt-3 text-sm" aria-live="polite">
          {target === null
            ? 'Select records or a whole group above.'
            : target.kind !== undefined
              ? `Selected: the whole group “${target.kind}”.`
              : `Selected: ${count(target.ids?.length ?? 0)} records.`}
        </p>
        <div className="mt-3 flex flex-wrap gap-2">
          <button
            type="button"
            className={BUTTON_SECONDARY}
            disabled={target === null || !rateValid || busy}
            onClick={dryRun}
          >
            Dry run
          </button>
          <button type="button" className={BUTTON} disabled={plan === null || busy} onClick={confirm}>
            Confirm replay{plan ? ` of ${count(plan.result.count)}` : ''}
          </button>
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
            </p>
            <ul aria-label="Would be replayed" className="mt-1 max-h-48 overflow-auto font-mono text-xs">
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
      </Panel>
    </div>
  )
}
