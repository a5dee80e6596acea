import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useMemo, useState } from 'react'
import { exportURL } from '../api/client'
import { eventsQuery, keys } from '../api/queries'
import type { ExplorerFilter } from '../api/schema'
import { typeBadge, typeStyle } from '../components/eventStyle'
import { Panel } from '../components/Panel'
import { count, dateTime } from '../format'
import {
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

const PAGE = 50

/** The explorer form as typed: datetime-local values for the time range. */
interface FormState {
  user_id: string
  event_type: string
  element_id: string
  session_id: string
  from: string
  to: string
  q: string
}

const EMPTY: FormState = { user_id: '', event_type: '', element_id: '', session_id: '', from: '', to: '', q: '' }

/** Converts a datetime-local value (local time) to RFC 3339, or undefined when empty or invalid. */
export function localToRFC3339(v: string): string | undefined {
  if (v === '') return undefined
  const t = new Date(v)
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString()
}

/** The API filter of a form. */
export function toFilter(f: FormState): ExplorerFilter {
  return {
    user_id: f.user_id,
    event_type: f.event_type,
    element_id: f.element_id,
    session_id: f.session_id,
    from: localToRFC3339(f.from),
    to: localToRFC3339(f.to),
    q: f.q,
  }
}

const FIELDS: { key: keyof FormState; label: string; type: string; placeholder?: string }[] = [
  { key: 'user_id', label: 'User', type: 'text', placeholder: 'user_ab12' },
  { key: 'event_type', label: 'Type', type: 'text', placeholder: 'button_click' },
  { key: 'element_id', label: 'Element', type: 'text', placeholder: 'button_1' },
  { key: 'session_id', label: 'Session', type: 'text' },
  { key: 'from', label: 'From', type: 'datetime-local' },
  { key: 'to', label: 'To', type: 'datetime-local' },
  { key: 'q', label: 'Text', type: 'search', placeholder: 'element, page or message' },
]

interface Props {
  onOpenTimeline?: (eventId: string) => void
}

/** The event explorer: stored events filtered, paged by cursor, exportable. */
export function ExplorerView({ onOpenTimeline }: Props) {
  const formId = useId()
  const [form, setForm] = useState<FormState>(EMPTY)
  const [applied, setApplied] = useState<ExplorerFilter>(() => toFilter(EMPTY))
  const queryClient = useQueryClient()
  // The pages of the applied filter; "Load more" fetches the one after next_cursor.
  const pages = useInfiniteQuery(eventsQuery(applied, PAGE))
  const events = useMemo(() => pages.data?.pages.flatMap((p) => p.events) ?? [], [pages.data])
  const cursor = pages.hasNextPage ? (pages.data?.pages.at(-1)?.next_cursor ?? null) : null
  const loading = pages.isFetching
  const loaded = pages.data !== undefined
  const error = pages.error === null ? null : errorMessage(pages.error)

  // A search starts again from the first page, even with the filter unchanged.
  const search = (f: ExplorerFilter) => {
    void queryClient.resetQueries({ queryKey: keys.events(f), exact: true })
    setApplied(f)
  }

  const submit = (e: React.FormEvent) => {
    e.preventDefault()
    search(toFilter(form))
  }

  return (
    <div className="flex flex-col gap-6">
      <Panel title="Event Explorer">
        <form
          id={formId}
          onSubmit={submit}
          role="search"
          aria-label="Filter events"
          className="grid gap-3 sm:grid-cols-4"
        >
          {FIELDS.map((fd) => (
            <div key={fd.key} className="flex flex-col gap-1">
              <label htmlFor={`${formId}-${fd.key}`} className={LABEL}>
                {fd.label}
              </label>
              <input
                id={`${formId}-${fd.key}`}
                type={fd.type}
                className={INPUT}
                value={form[fd.key]}
                placeholder={fd.placeholder}
                step={fd.type === 'datetime-local' ? 1 : undefined}
                onChange={(e) => setForm((f) => ({ ...f, [fd.key]: e.target.value }))}
              />
            </div>
          ))}
          <div className="flex items-end gap-2">
            <button type="submit" className={BUTTON} disabled={loading}>
              Search
            </button>
            <button
              type="button"
              className={BUTTON_SECONDARY}
              onClick={() => {
                setForm(EMPTY)
                search(toFilter(EMPTY))
              }}
            >
              Clear
            </button>
          </div>
        </form>
        <div className="mt-3 flex flex-wrap gap-3 text-sm">
          <a className="text-blue-700 underline dark:text-blue-300" href={exportURL(applied, 'csv')} download>
            Export CSV
          </a>
          <a className="text-blue-700 underline dark:text-blue-300" href={exportURL(applied, 'ndjson')} download>
            Export NDJSON
          </a>
          <span className="text-xs text-slate-500 dark:text-slate-400">
            Exports every event matching the last search, not only the rows shown.
          </span>
        </div>
      </Panel>
      <Panel
        title="Results"
        actions={<span className="text-xs text-slate-500 dark:text-slate-400">{count(events.length)} shown</span>}
      >
        {error && <ErrorText>Could not load events: {error}</ErrorText>}
        <div className="relative overflow-x-auto">
          <table className="w-full">
            <caption className="sr-only">Events, newest first</caption>
            <thead>
              <tr>
                <th className={TH}>Time</th>
                <th className={TH}>Type</th>
                <th className={TH}>User</th>
                <th className={TH}>Element</th>
                <th className={TH}>Session</th>
                <th className={TH}>Page / message</th>
                <th className={TH}>Partition/offset</th>
                <th className={TH}>
                  <span className="sr-only">Timeline</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {loaded && events.length === 0 ? (
                <tr>
                  <td colSpan={8} className={`${TD} py-4 text-center text-slate-500`}>
                    No events match.
                  </td>
                </tr>
              ) : (
                events.map((e) => (
                  <tr key={e.event_id} className={ROW}>
                    <td className={`${TD} whitespace-nowrap`}>{dateTime(e.timestamp)}</td>
                    <td className={TD}>
                      <span
                        className={`rounded-full px-2 py-0.5 text-[10px] font-semibold ${typeStyle(e.event_type).badge}`}
                      >
                        {typeBadge(e.event_type)}
                      </span>
                    </td>
                    <td className={TD}>{e.user_id}</td>
                    <td className={TD}>{e.element_id || '—'}</td>
                    <td className={`${TD} max-w-[8rem] truncate`} title={e.session_id}>
                      {e.session_id || '—'}
                    </td>
                    <td className={`${TD} max-w-xs truncate`}>
                      {[e.page, e.message].filter(Boolean).join(' · ') || '—'}
                    </td>
                    <td className={TD}>
                      {e.partition}/{e.offset}
                    </td>
                    <td className={TD}>
                      {onOpenTimeline && (
                        <button
                          type="button"
                          aria-label={`Timeline of ${e.event_type} on ${e.element_id || 'no element'}`}
                          className={BUTTON_SMALL}
                          onClick={() => onOpenTimeline(e.event_id)}
                        >
                          Timeline
                        </button>
                      )}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
        <div className="mt-3 flex items-center gap-3">
          {cursor !== null && (
            <button
              type="button"
              className={BUTTON_SECONDARY}
              disabled={loading}
              onClick={() => void pages.fetchNextPage()}
            >
              Load more
            </button>
          )}
          {loading && <span className="text-xs text-slate-500">Loading…</span>}
        </div>
      </Panel>
    </div>
  )
}
