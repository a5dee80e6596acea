import { useQuery } from '@tanstack/react-query'
import { useEffect, useEffectEvent, useId, useRef } from 'react'
import { timelineQuery } from '../api/queries'
import type { StageName } from '../api/schema'
import { count, dateTime, duration, preciseTime } from '../format'
import { processingMs, STATUS_LABEL } from '../timing'
import { BUTTON_SECONDARY, ErrorText, errorMessage } from '../console/ui'

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

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])'

interface Props {
  eventId: string
  onClose: () => void
}

/**
 * A modal dialog with one message's timeline. Esc or Close closes it; Tab
 * stays inside it; focus returns to where it was when it opened.
 */
export function TimelineDialog({ eventId, onClose }: Props) {
  const titleId = useId()
  const box = useRef<HTMLDivElement>(null)
  const closeRef = useRef<HTMLButtonElement>(null)
  const timeline = useQuery(timelineQuery(eventId))
  const data = timeline.data ?? null
  const error = timeline.error === null ? null : errorMessage(timeline.error)
  // The newest onClose, for the key handler installed once on opening.
  const close = useEffectEvent(onClose)

  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null
    closeRef.current?.focus()
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault()
        close()
        return
      }
      if (e.key !== 'Tab' || box.current === null) return
      const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)]
      if (items.length === 0) return
      const first = items[0]
      const last = items[items.length - 1]
      const inside = box.current.contains(document.activeElement)
      if (e.shiftKey && (document.activeElement === first || !inside)) {
        e.preventDefault()
        last.focus()
      } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
        e.preventDefault()
        first.focus()
      }
    }
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('keydown', onKey)
      // Back where the user was: the button that opened the dialog.
      if (previous?.isConnected) previous.focus()
    }
  }, [])

  const m = data?.message
  const total = m === undefined ? null : processingMs(m)
  return (
    <div
      className="fixed inset-0 z-50 flex justify-end bg-slate-900/40"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onClose()
      }}
    >
      <div
        ref={box}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        className="flex h-full w-full max-w-md flex-col overflow-y-auto bg-white p-5 shadow-xl dark:bg-slate-900"
      >
        <div className="mb-4 flex items-start justify-between gap-2">
          <div className="min-w-0">
            <h2 id={titleId} className="text-base font-semibold">
              Message timeline
            </h2>
            <p className="truncate font-mono text-xs text-slate-500 dark:text-slate-400">{eventId}</p>
          </div>
          <button ref={closeRef} type="button" className={BUTTON_SECONDARY} onClick={onClose}>
            Close
          </button>
        </div>
        {error && <ErrorText>Could not load the timeline: {error}</ErrorText>}
        {data === null || m === undefined ? (
          !error && <p className="text-sm text-slate-500 dark:text-slate-400">Loading…</p>
        ) : (
          <>
            <dl aria-label="Message" className="grid grid-cols-2 gap-x-4 gap-y-2 text-xs">
              {(
                [
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
                ] as const
              ).map(([k, v]) => (
                <div key={k} className="min-w-0">
                  <dt className="text-slate-500 dark:text-slate-400">{k}</dt>
                  <dd className="truncate font-medium">{v}</dd>
                </div>
              ))}
            </dl>
            {m.error && <p className="mt-3 text-xs break-words text-red-700 dark:text-red-300">Error: {m.error}</p>}
            {m.next_retry_at && m.status === 'retrying' && (
              <p className="mt-1 text-xs text-amber-700 dark:text-amber-300">
                Next attempt at {preciseTime(m.next_retry_at)}
              </p>
            )}
            <h3 className="mt-5 mb-2 text-sm font-semibold">Stages</h3>
            {data.stages.length === 0 ? (
              <p className="text-xs text-slate-500">No stages recorded.</p>
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
                      <time dateTime={s.at} className="font-mono text-xs text-slate-500 dark:text-slate-400">
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
      </div>
    </div>
  )
}
