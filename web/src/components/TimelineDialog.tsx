import { useQuery } from '@tanstack/react-query'
import { timelineQuery } from '../api/queries'
import type { StageName } from '../api/schema'
import { count, dateTime, duration, errorMessage, preciseTime } from '../format'
import { processingMs, STATUS_LABEL } from '../timing'
import { Dialog } from './ui/Dialog'
import { Empty, ErrorText, Loading } from './ui/State'
import { StatList } from './ui/StatList'

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
}

interface Props {
  eventId: string
  onClose: () => void
}

/** One message's timeline in a modal drawer: its outcome and facts, then every stage it went through. */
export function TimelineDialog({ eventId, onClose }: Props) {
  const timeline = useQuery(timelineQuery(eventId))
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
              ['User', m.user_id],
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
                    <time dateTime={s.at} className="font-mono text-xs text-slate-600 dark:text-slate-400">
                      {preciseTime(s.at)}
                    </time>
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
