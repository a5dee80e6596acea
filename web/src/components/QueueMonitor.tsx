import { useQuery } from '@tanstack/react-query'
import { memo, useMemo, useRef } from 'react'
import { queueMessagesQuery } from '../api/queries'
import {
  isSource,
  isStatus,
  SOURCES,
  STATUSES,
  type Message,
  type QueueStats,
  type Source,
  type Status,
} from '../api/schema'
import { isTerminal, messageKey, type LiveMessage } from '../live/feed'
import { clockTime, duration } from '../format'
import { endLabel, firstStart, processingMs } from '../timing'
import { useRouteParams } from '../hooks/route'
import { useActiveRow } from '../hooks/useActiveRow'
import { Badge, type BadgeTone } from './ui/Badge'
import { Button } from './ui/Button'
import { Card } from './ui/Card'
import { Field, Label, Select } from './ui/Field'
import { Empty, ErrorText, Loading } from './ui/State'
import { QueueCounts } from './QueueCounts'
import { WaitingBehind } from './WaitingBehind'
import { MaskedValue } from './MaskedValue'

const NO_MESSAGES: readonly Message[] = []

// As many as one GET /api/queue/messages/ page: more is scrolling, not monitoring.
const MAX_ROWS = 50

const STATUS_TONE: Record<Status, BadgeTone> = {
  queued: 'slate',
  processing: 'blue',
  retrying: 'amber',
  completed: 'green',
  failed: 'red',
  dead_lettered: 'red',
}

interface Props {
  /** Latest state of messages seen live (queue_update, initial_data). */
  live: ReadonlyMap<string, LiveMessage>
  /** Changes on every resync; the list is fetched again then. */
  resyncs: number
  /** Opens the timeline of a message. */
  onOpenTimeline?: (eventId: string) => void
  /** The server's count of messages per status (stats_update); null before the first. */
  counts?: QueueStats | null
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

/** The sort key of a row: in flight first, then newest queued, then highest offset. */
interface Keyed {
  row: Row
  done: number
  queued: number
}

function order(a: Keyed, b: Keyed): number {
  return a.done - b.done || b.queued - a.queued || b.row.offset - a.row.offset
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
  // Each row's time is parsed once, not in every comparison of the sort.
  return [...rows.values()]
    .map((row): Keyed => ({ row, done: isTerminal(row) ? 1 : 0, queued: Date.parse(row.queued_at) }))
    .sort(order)
    .slice(0, MAX_ROWS)
    .map((k) => k.row)
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="truncate text-xs tabular-nums">{value}</dd>
    </div>
  )
}

/** The whole processing time, first attempt to end, or a dash while in flight. */
function durationOf(m: Row): string {
  const ms = processingMs(m)
  return ms === null ? '—' : duration(ms)
}

// Memoised: at high rates most rows are unchanged between two renders.
// At 5,000 events/s the 50 newest messages change four times a second:
// rows scrolled out of the list's view skip layout and paint
// (content-visibility, sized as last rendered), and the facts go five
// across by the viewport's width, not by a container query per row,
// which restyled every row on every update. Together they were most of
// the dashboard's main-thread time (a trace: 27 tasks over 50 ms in 8 s,
// layout 700-900 ms; after, 1-3 and under 10 ms).
// The rows' buttons are not tab stops: the list is one (Enter opens the
// active row's timeline), so 50 rows do not cost 50 more Tab presses.
const QueueRow = memo(function QueueRow({
  m,
  id,
  active,
  onOpenTimeline,
}: {
  m: Row
  id: string
  active: boolean
  onOpenTimeline?: (id: string) => void
}) {
  return (
    <li
      id={id}
      className={`rounded-md border px-3 py-2 [contain-intrinsic-size:auto_120px] [content-visibility:auto] ${
        active
          ? 'border-slate-200 group-focus-visible:border-blue-600 group-focus-visible:bg-blue-50 dark:border-slate-800 dark:group-focus-visible:border-blue-400 dark:group-focus-visible:bg-blue-950/40'
          : 'border-slate-200 dark:border-slate-800'
      }`}
    >
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone={STATUS_TONE[m.status]} strong={m.status === 'dead_lettered'} pulse={m.status === 'processing'}>
          {m.status}
        </Badge>
        <Badge tone="indigo">{m.source}</Badge>
        <span className="min-w-0 text-sm break-words">
          <MaskedValue value={m.user_id} /> - {m.event_type}
        </span>
        <span className="ml-auto text-xs text-slate-600 tabular-nums dark:text-slate-400">
          {clockTime(m.queued_at)}
        </span>
        {onOpenTimeline && m.event_id && (
          <Button
            size="sm"
            tabIndex={-1}
            aria-label={`Timeline of ${m.event_type} on ${m.element_id || 'no element'}`}
            onClick={() => onOpenTimeline(m.event_id)}
          >
            Timeline
          </Button>
        )}
      </div>
      <p className="mt-1 text-xs break-words text-slate-600 tabular-nums dark:text-slate-400">
        Element: {m.element_id || '—'} · partition {m.partition}, offset {m.offset}
        {m.consumer_id ? ` · consumer ${m.consumer_id}` : ''}
      </p>
      <dl className="mt-2 grid grid-cols-2 gap-2 sm:grid-cols-5">
        <Fact label="Queued" value={clockTime(m.queued_at)} />
        <Fact label="Processing" value={clockTime(firstStart(m))} />
        <Fact label={endLabel(m.status)} value={clockTime(m.completed_at)} />
        <Fact label="Duration" value={durationOf(m)} />
        <Fact label="Retries" value={String(m.retries)} />
      </dl>
      {m.seen && m.seen.length > 1 && (
        <p className="mt-1 text-xs text-slate-600 dark:text-slate-400">Seen live: {m.seen.join(' → ')}</p>
      )}
      <WaitingBehind m={m} />
      {m.status === 'retrying' && m.next_retry_at && (
        <p className="mt-1 text-xs text-amber-800 dark:text-amber-300">Next attempt at {clockTime(m.next_retry_at)}</p>
      )}
      {m.error && <p className="mt-1 text-xs break-words text-red-700 dark:text-red-300">Error: {m.error}</p>}
    </li>
  )
})

/** The processing log: every message's state, live, with status and source filters kept in the URL. */
export function QueueMonitor({ live, resyncs, onOpenTimeline, counts = null }: Props) {
  const [params, setParams] = useRouteParams()
  const status = params.get('status') ?? ''
  const source = params.get('source') ?? ''
  const filter = useMemo<Filter>(
    () => ({ status: isStatus(status) ? status : '', source: isSource(source) ? source : '' }),
    [status, source],
  )
  // Fetched on mount, on every filter change and on every resync (the live
  // updates a resync replaced may have missed messages): both are in the key.
  const query = useQuery(
    queueMessagesQuery({ status: filter.status || undefined, source: filter.source || undefined, limit: 50 }, resyncs),
  )
  const fetched = query.data?.messages ?? NO_MESSAGES
  const error = query.error === null ? null : query.error.message

  const rows = useMemo(() => mergeQueue(fetched, live, filter), [fetched, live, filter])
  const keys = useMemo(() => rows.map(messageKey), [rows])
  const scroller = useRef<HTMLDivElement>(null)
  const { active, rowId, hintId, listProps } = useActiveRow({
    keys,
    scrollTo: (i) => scroller.current?.querySelectorAll('li')[i]?.scrollIntoView?.({ block: 'nearest' }),
    onEnter: (key) => {
      const eventId = rows.find((m) => messageKey(m) === key)?.event_id
      if (onOpenTimeline && eventId) onOpenTimeline(eventId)
    },
  })

  return (
    <Card title="Message Queue Monitor">
      <QueueCounts stats={counts} />
      <div className="mb-3 flex flex-wrap gap-4">
        <Field>
          <Label htmlFor="queue-status">Status Filter</Label>
          <Select
            id="queue-status"
            value={filter.status}
            onChange={(e) => setParams({ status: isStatus(e.target.value) ? e.target.value : null }, { replace: true })}
          >
            <option value="">All Statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </Select>
        </Field>
        <Field>
          <Label htmlFor="queue-source">Source Filter</Label>
          <Select
            id="queue-source"
            value={filter.source}
            onChange={(e) => setParams({ source: isSource(e.target.value) ? e.target.value : null }, { replace: true })}
          >
            <option value="">All Sources</option>
            {SOURCES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </Select>
        </Field>
      </div>
      {error && <ErrorText>Could not load the queue: {error}</ErrorText>}
      {rows.length === 0 ? (
        query.isPending ? (
          <Loading>Loading the queue…</Loading>
        ) : (
          <Empty>No messages match.</Empty>
        )
      ) : (
        <>
          <div
            ref={scroller}
            {...listProps}
            role="group"
            aria-label="Queue messages, in flight first"
            className="group max-h-[420px] overflow-y-auto rounded focus-visible:outline-2 focus-visible:outline-blue-600 xl:max-h-[560px] dark:focus-visible:outline-blue-400"
          >
            <ul aria-label="Queue messages" className="space-y-2">
              {rows.map((m, i) => (
                <QueueRow
                  key={messageKey(m)}
                  id={rowId(i)}
                  active={i === active}
                  m={m}
                  onOpenTimeline={onOpenTimeline}
                />
              ))}
            </ul>
          </div>
          <p id={hintId} className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            In the list: ↑ ↓ move between messages, Enter opens the timeline.
          </p>
        </>
      )}
    </Card>
  )
}
