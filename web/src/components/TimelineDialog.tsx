import { useQuery } from '@tanstack/react-query'
import { timelineQuery } from '../api/queries'
import type { StageName, StoredEvent } from '../api/schema'
import { count, dateTime, duration, errorMessage, preciseTime } from '../format'
import { processingMs, STATUS_LABEL } from '../timing'
import { Dialog } from './ui/Dialog'
import { Empty, ErrorText, Loading } from './ui/State'
import { StatList } from './ui/StatList'
import { MaskedValue } from './MaskedValue'

const STAGE_LABEL: Record<StageName, string> = {
  produced: 'Produced',
  fetched: 'Fetched',
  started: 'Started',
  attempt_failed: 'Attempt failed',
  // The stage's time is when the next attempt is due.
  retry_scheduled: 'Next attempt due',
  dead_lettered: 'Dead-lettered',
  stored: 'Stored',
  broadcast: 'Broadcast',
  // A rewind gave the record back to the group after it was stored.
  reprocessed: 'Processed again',
}

const STAGE_DOT: Record<StageName, string> = {
  produced: 'bg-slate-400',
  fetched: 'bg-slate-500',
  started: 'bg-blue-500',
  attempt_failed: 'bg-red-500',
  retry_scheduled: 'bg-amber-500',
  dead_lettered: 'bg-red-700',
  stored: 'bg-green-500',
  broadcast: 'bg-green-700',
  reprocessed: 'bg-sky-500',
}

interface Props {
  eventId: string
  onClose: () => void
  /** How often an in-flight message is fetched again. */
  pollMs?: number
}

/** A stage's time after the first stage's (produced), for reading the timeline at a glance. */
export function sinceFirst(at: string, first: string): string {
  const ms = Date.parse(at) - Date.parse(first)
  if (!Number.isFinite(ms)) return ''
  return ms <= 0 ? '+0 ms' : `+${duration(ms)}`
}

/** The event itself as it was stored: what the user did, where, and its properties. */
function EventDetails({ e }: { e: StoredEvent }) {
  return (
    <section aria-label="Event" className="mt-5">
      <h3 className="mb-2 text-sm font-semibold">Event</h3>
      {e.message && <p className="mb-2 text-sm break-words whitespace-pre-wrap">{e.message}</p>}
      <StatList
        label="Event facts"
        columns="grid-cols-2"
        items={[
          ['Event time', dateTime(e.timestamp)],
          ['Stored', dateTime(e.created_at)],
          ['Page', e.page || '—'],
          ['Session', <MaskedValue key="session" value={e.session_id} />],
          ['Source', e.source],
        ]}
      />
      {e.properties !== undefined && Object.keys(e.properties).length > 0 && (
        <>
          <h4 className="mt-3 mb-1 text-xs font-medium text-slate-600 dark:text-slate-400">Properties</h4>
          <pre className="max-h-48 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">
            {JSON.stringify(e.properties, null, 2)}
          </pre>
        </>
      )}
    </section>
  )
}

/**
 * One message's timeline in a modal drawer: its outcome and facts, the event
 * itself, then every stage it went through with its time after the first. It
 * follows a message in flight until it finishes.
 */
export function TimelineDialog({ eventId, onClose, pollMs = 1000 }: Props) {
  const timeline = useQuery(timelineQuery(eventId, pollMs))
  const data = timeline.data ?? null
  const error = timeline.error === null ? null : errorMessage(timeline.error)

  const m = data?.message
  const total = m === undefined ? null : processingMs(m)
  return (
    <Dialog title="Message timeline" subtitle={eventId} onClose={onClose}>
      {error && <ErrorText>Could not load the timeline: {error}</ErrorText>}
      {data === null || m === undefined ? (
        !error && <Loading />
      ) : (
        <>
          <StatList
            label="Message"
            columns="grid-cols-2"
            items={[
              ['Outcome', STATUS_LABEL[m.status]],
              ['Type', m.event_type],
              ['Element', m.element_id || '—'],
              ['User', <MaskedValue key="user" value={m.user_id} />],
              ['Partition', String(m.partition)],
              ['Offset', count(m.offset)],
              ['Retries', String(m.retries)],
              ['Duration', total === null ? '—' : duration(total)],
              ['Last attempt', m.completed_at ? duration(m.duration_ms) : '—'],
              ['Consumer', m.consumer_id || '—'],
              ['Queued', dateTime(m.queued_at)],
            ]}
          />
          {m.error && <p className="mt-3 text-xs break-words text-red-700 dark:text-red-300">Error: {m.error}</p>}
          {m.next_retry_at && m.status === 'retrying' && (
            <p className="mt-1 text-xs text-amber-700 dark:text-amber-300">
              Next attempt at {preciseTime(m.next_retry_at)}
            </p>
          )}
          {data.event !== null ? (
            <EventDetails e={data.event} />
          ) : (
            <p className="mt-4 text-xs text-slate-600 dark:text-slate-400">
              {m.status === 'dead_lettered' || m.status === 'failed'
                ? 'The event was not stored: its record, payload included, is in the dead-letter topic (Dead letters view).'
                : 'The event is stored when its processing completes; this timeline follows it until then.'}
            </p>
          )}
          <h3 className="mt-5 mb-2 text-sm font-semibold">Stages</h3>
          {data.stages.length === 0 ? (
            <Empty>No stages recorded.</Empty>
          ) : (
            <ol aria-label="Stages" className="relative ml-2 border-l border-slate-300 dark:border-slate-700">
              {data.stages.map((s, i) => (
                <li key={`${s.stage}-${i}`} className="relative mb-3 pl-4">
                  <span
                    aria-hidden="true"
                    className={`absolute top-1 -left-[5px] h-2.5 w-2.5 rounded-full ${STAGE_DOT[s.stage]}`}
                  />
                  <div className="flex items-baseline justify-between gap-2">
                    <span className="text-sm font-medium">{STAGE_LABEL[s.stage]}</span>
                    <span className="text-xs text-slate-600 tabular-nums dark:text-slate-400">
                      <span className="font-medium text-slate-800 dark:text-slate-200">
                        {sinceFirst(s.at, data.stages[0].at)}
                      </span>{' '}
                      <time dateTime={s.at} className="font-mono">
                        {preciseTime(s.at)}
                      </time>
                    </span>
                  </div>
                  {s.detail && <p className="text-xs break-words text-slate-600 dark:text-slate-400">{s.detail}</p>}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </Dialog>
  )
}
