import { useQuery } from '@tanstack/react-query'
import { memo, useMemo, useState } from 'react'
import { queueMessagesQuery } from '../api/queries'
import { isSource, isStatus, SOURCES, STATUSES, type Message, type Source, type Status } from '../api/schema'
import { isTerminal, messageKey, type LiveMessage } from '../live/feed'
import { clockTime, duration } from '../format'
import { endLabel, firstStart, processingMs } from '../timing'
import { Panel } from './Panel'

const NO_MESSAGES: readonly Message[] = []

// As many as one GET /api/queue/messages/ page: more is scrolling, not monitoring.
const MAX_ROWS = 50

const STATUS_BADGE: Record<Status, string> = {
  queued: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200',
  processing: 'bg-blue-100 text-blue-800 animate-pulse dark:bg-blue-900/60 dark:text-blue-200',
  retrying: 'bg-amber-100 text-amber-800 dark:bg-amber-900/60 dark:text-amber-200',
  completed: 'bg-green-100 text-green-800 dark:bg-green-900/60 dark:text-green-200',
  failed: 'bg-red-100 text-red-800 dark:bg-red-900/60 dark:text-red-200',
  dead_lettered: 'bg-red-200 text-red-900 dark:bg-red-900 dark:text-red-100',
}

const SELECT =
  'rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 focus-visible:outline-2 focus-visible:outline-blue-500 dark:border-slate-700 dark:bg-slate-950 dark:text-slate-100'

interface Props {
  /** Latest state of messages seen live (queue_update, initial_data). */
  live: ReadonlyMap<string, LiveMessage>
  /** Changes on every resync; the list is fetched again then. */
  resyncs: number
  /** Opens the timeline of a message. */
  onOpenTimeline?: (eventId: string) => void
}

interface Filter {
  status: Status | ''
  source: Source | ''
}

/** A row of the monitor: a message, with the statuses it went through when seen live. */
export type Row = Message & { seen?: readonly Status[] }

function matches(m: Message, f: Filter): boolean {
  return (f.status === '' || m.status === f.status) && (f.source === '' || m.source === f.source)
}

// A finished state never goes back to an in-flight one, so a terminal
// message wins over a non-terminal one whichever arrived last; otherwise the
// live update is the newer.
function newer(fetched: Row, live: LiveMessage): Row {
  return isTerminal(fetched) && !isTerminal(live) ? { ...fetched, seen: live.seen } : live
}

function order(a: Message, b: Message): number {
  const fa = isTerminal(a) ? 1 : 0
  const fb = isTerminal(b) ? 1 : 0
  if (fa !== fb) return fa - fb
  return Date.parse(b.queued_at) - Date.parse(a.queued_at) || b.offset - a.offset
}

/** Combines the fetched list with live updates, filtered and ordered in-flight first. */
export function mergeQueue(fetched: readonly Message[], live: ReadonlyMap<string, LiveMessage>, f: Filter): Row[] {
  const rows = new Map<string, Row>()
  // The fetched list may still be the previous filter's until the new one loads.
  for (const m of fetched) if (matches(m, f)) rows.set(messageKey(m), m)
  for (const [k, m] of live) {
    const old = rows.get(k)
    const next = old ? newer(old, m) : m
    if (matches(next, f)) rows.set(k, next)
    else rows.delete(k)
  }
  return [...rows.values()].sort(order).slice(0, MAX_ROWS)
}

function Field({ label, value }: { label: string; value: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-[11px] text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="truncate text-xs">{value}</dd>
    </div>
  )
}

/** The whole processing time, first attempt to end, or a dash while in flight. */
function durationOf(m: Row): string {
  const ms = processingMs(m)
  return ms === null ? '—' : duration(ms)
}

// Memoised: at high rates most rows are unchanged between two renders.
const QueueRow = memo(function QueueRow({ m, onOpenTimeline }: { m: Row; onOpenTimeline?: (id: string) => void }) {
  return (
    <li className="rounded-md border border-slate-200 px-3 py-2 dark:border-slate-800">
      <div className="flex flex-wrap items-center gap-2">
        <span className={`rounded-full px-2 py-0.5 text-[11px] font-semibold ${STATUS_BADGE[m.status]}`}>
          {m.status}
        </span>
        <span className="rounded-full bg-indigo-50 px-2 py-0.5 text-[11px] text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200">
          {m.source}
        </span>
        <span className="min-w-0 truncate text-sm">
          {m.user_id} - {m.event_type}
        </span>
        <span className="ml-auto text-xs text-slate-500 dark:text-slate-400">{clockTime(m.queued_at)}</span>
        {onOpenTimeline && m.event_id && (
          <button
            type="button"
            aria-label={`Timeline of ${m.event_type} on ${m.element_id || 'no element'}`}
            onClick={() => onOpenTimeline(m.event_id)}
            className="rounded border border-slate-300 px-1.5 py-0.5 text-[11px] text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-blue-500 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
          >
            Timeline
          </button>
        )}
      </div>
      <p className="mt-1 truncate text-xs text-slate-600 dark:text-slate-400">
        Element: {m.element_id || '—'} · partition {m.partition}, offset {m.offset}
        {m.consumer_id ? ` · consumer ${m.consumer_id}` : ''}
      </p>
      <dl className="mt-2 grid grid-cols-2 gap-2 sm:grid-cols-5">
        <Field label="Queued" value={clockTime(m.queued_at)} />
        <Field label="Processing" value={clockTime(firstStart(m))} />
        <Field label={endLabel(m.status)} value={clockTime(m.completed_at)} />
        <Field label="Duration" value={durationOf(m)} />
        <Field label="Retries" value={String(m.retries)} />
      </dl>
      {m.seen && m.seen.length > 1 && (
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">Seen live: {m.seen.join(' → ')}</p>
      )}
      {m.status === 'retrying' && m.next_retry_at && (
        <p className="mt-1 text-xs text-amber-700 dark:text-amber-300">Next attempt at {clockTime(m.next_retry_at)}</p>
      )}
      {m.error && <p className="mt-1 text-xs break-words text-red-700 dark:text-red-300">Error: {m.error}</p>}
    </li>
  )
})

/** The processing log: every message's state, live, with status and source filters. */
export function QueueMonitor({ live, resyncs, onOpenTimeline }: Props) {
  const [filter, setFilter] = useState<Filter>({ status: '', source: '' })
  // Fetched on mount, on every filter change and on every resync (the live
  // updates a resync replaced may have missed messages): both are in the key.
  const query = useQuery(
    queueMessagesQuery({ status: filter.status || undefined, source: filter.source || undefined, limit: 50 }, resyncs),
  )
  const fetched = query.data?.messages ?? NO_MESSAGES
  const error = query.error === null ? null : query.error.message

  const rows = useMemo(() => mergeQueue(fetched, live, filter), [fetched, live, filter])

  return (
    <Panel title="Message Queue Monitor">
      <div className="mb-3 flex flex-wrap gap-4">
        <div className="flex flex-col gap-1">
          <label htmlFor="queue-status" className="text-xs font-medium text-slate-700 dark:text-slate-300">
            Status Filter
          </label>
          <select
            id="queue-status"
            className={SELECT}
            value={filter.status}
            onChange={(e) => {
              const v = e.target.value
              setFilter((f) => ({ ...f, status: isStatus(v) ? v : '' }))
            }}
          >
            <option value="">All Statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor="queue-source" className="text-xs font-medium text-slate-700 dark:text-slate-300">
            Source Filter
          </label>
          <select
            id="queue-source"
            className={SELECT}
            value={filter.source}
            onChange={(e) => {
              const v = e.target.value
              setFilter((f) => ({ ...f, source: isSource(v) ? v : '' }))
            }}
          >
            <option value="">All Sources</option>
            {SOURCES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && (
        <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-300">
          Could not load the queue: {error}
        </p>
      )}
      {rows.length === 0 ? (
        <p className="py-6 text-center text-sm text-slate-500 dark:text-slate-400">No messages match.</p>
      ) : (
        <ul aria-label="Queue messages" className="max-h-[420px] space-y-2 overflow-y-auto" tabIndex={0}>
          {rows.map((m) => (
            <QueueRow key={messageKey(m)} m={m} onOpenTimeline={onOpenTimeline} />
          ))}
        </ul>
      )}
    </Panel>
  )
}
