import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useMemo, useState } from 'react'
import { exportURL } from '../api/client'
import { eventsQuery, keys } from '../api/queries'
import type { ExplorerFilter, StoredEvent } from '../api/schema'
import { TypeBadge } from '../components/TypeBadge'
import { UserLink } from '../components/UserLink'
import { Button } from '../components/ui/Button'
import { Card, CardNote } from '../components/ui/Card'
import { Field, Input, Label } from '../components/ui/Field'
import { ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime, errorMessage } from '../format'
import { useMaskedFields } from '../hooks/resources'
import { useRouteParams } from '../hooks/route'
import { isMasked } from '../api/privacy'
import { MaskedValue } from '../components/MaskedValue'

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

/** A datetime-local value (local time, to the second) of an RFC 3339 time, or "" when there is none. */
export function rfc3339ToLocal(v: string | null): string {
  if (v === null || v === '') return ''
  const t = new Date(v)
  if (Number.isNaN(t.getTime())) return ''
  const p = (n: number) => String(n).padStart(2, '0')
  const minute = `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:${p(t.getMinutes())}`
  // As a browser writes it: seconds only when there are some.
  return t.getSeconds() === 0 ? minute : `${minute}:${p(t.getSeconds())}`
}

/**
 * The form of the URL's state. The time range is kept there as RFC 3339,
 * so a link means the same instant in the recipient's time zone.
 */
export function formOf(params: URLSearchParams): FormState {
  const get = (k: string) => params.get(k) ?? ''
  return {
    user_id: get('user_id'),
    event_type: get('event_type'),
    element_id: get('element_id'),
    session_id: get('session_id'),
    from: rfc3339ToLocal(params.get('from')),
    to: rfc3339ToLocal(params.get('to')),
    q: get('q'),
  }
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

/**
 * The columns of a list of stored events: the explorer's, and a user's
 * page's, which leaves out the user (withUser false).
 */
export function eventColumns(onOpenTimeline?: (eventId: string) => void, withUser = true): Column<StoredEvent>[] {
  return [
    { header: 'Time', cell: (e) => dateTime(e.timestamp), className: 'whitespace-nowrap' },
    { header: 'Type', cell: (e) => <TypeBadge type={e.event_type} /> },
    ...(withUser ? [{ header: 'User', cell: (e: StoredEvent) => <UserLink userId={e.user_id} /> }] : []),
    { header: 'Element', cell: (e) => e.element_id || '—' },
    {
      header: 'Session',
      cell: (e) =>
        isMasked(e.session_id ?? '') ? (
          <MaskedValue value={e.session_id} />
        ) : (
          <span title={e.session_id}>{e.session_id || '—'}</span>
        ),
      className: '@2xl:max-w-[8rem] @2xl:truncate',
    },
    {
      header: 'Page / message',
      cell: (e) => [e.page, e.message].filter(Boolean).join(' · ') || '—',
      className: '@2xl:max-w-xs @2xl:truncate',
    },
    { header: 'Partition/offset', cell: (e) => `${e.partition}/${e.offset}` },
    {
      header: 'Timeline',
      hideHeader: true,
      cell: (e) =>
        onOpenTimeline && (
          <Button
            size="sm"
            aria-label={`Timeline of ${e.event_type} on ${e.element_id || 'no element'}`}
            onClick={() => onOpenTimeline(e.event_id)}
          >
            Timeline
          </Button>
        ),
    },
  ]
}

interface Props {
  onOpenTimeline?: (eventId: string) => void
}

/**
 * The event explorer: stored events filtered, paged by cursor, exportable.
 * The searched filter is the URL's, so a link opens the same search.
 */
export function ExplorerView({ onOpenTimeline }: Props) {
  const formId = useId()
  const [params, setParams] = useRouteParams()
  // The URL holds the searched filter; the form holds what is being typed.
  const searched = useMemo(() => formOf(params), [params])
  const searchedKey = JSON.stringify(searched)
  const [form, setForm] = useState<FormState>(searched)
  const [formFor, setFormFor] = useState(searchedKey)
  if (formFor !== searchedKey) {
    // Back, Forward or a pasted link changed the search: show its filters.
    setFormFor(searchedKey)
    setForm(searched)
  }
  const applied = useMemo(() => toFilter(searched), [searched])
  const queryClient = useQueryClient()
  const masked = useMaskedFields()
  // The filters on a field this reader sees masked: the server refuses a search by one.
  const personal = FIELDS.filter((fd) => masked.has(fd.key))
  // The pages of the applied filter; "Load more" fetches the one after next_cursor.
  const pages = useInfiniteQuery(eventsQuery(applied, PAGE))
  const events = useMemo(() => pages.data?.pages.flatMap((p) => p.events) ?? [], [pages.data])
  const cursor = pages.hasNextPage ? (pages.data?.pages.at(-1)?.next_cursor ?? null) : null
  const loading = pages.isFetching
  const loaded = pages.data !== undefined
  const error = pages.error === null ? null : errorMessage(pages.error)

  // A search starts again from the first page, even with the filter unchanged.
  const search = (f: FormState) => {
    const filter = toFilter(f)
    void queryClient.resetQueries({ queryKey: keys.events(filter), exact: true })
    setParams({
      user_id: f.user_id,
      event_type: f.event_type,
      element_id: f.element_id,
      session_id: f.session_id,
      from: filter.from ?? null,
      to: filter.to ?? null,
      q: f.q,
    })
  }

  const submit = (e: React.FormEvent) => {
    e.preventDefault()
    search(form)
  }

  return (
    <div className="grid gap-6">
      <Card title="Event Explorer">
        <form
          id={formId}
          onSubmit={submit}
          role="search"
          aria-label="Filter events"
          className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4 2xl:grid-cols-8"
        >
          {FIELDS.map((fd) => (
            <Field key={fd.key}>
              <Label htmlFor={`${formId}-${fd.key}`}>{fd.label}</Label>
              <Input
                id={`${formId}-${fd.key}`}
                type={fd.type}
                value={form[fd.key]}
                placeholder={fd.placeholder}
                step={fd.type === 'datetime-local' ? 1 : undefined}
                disabled={masked.has(fd.key)}
                aria-describedby={masked.has(fd.key) ? `${formId}-personal` : undefined}
                onChange={(e) => setForm((f) => ({ ...f, [fd.key]: e.target.value }))}
              />
            </Field>
          ))}
          <div className="flex items-end gap-2">
            <Button type="submit" variant="primary" disabled={loading}>
              Search
            </Button>
            <Button
              onClick={() => {
                setForm(EMPTY)
                search(EMPTY)
              }}
            >
              Clear
            </Button>
          </div>
        </form>
        {personal.length > 0 && (
          <p id={`${formId}-personal`} className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            {personal.map((fd) => fd.label).join(' and ')}{' '}
            {personal.length === 1 ? 'is a personal field' : 'are personal fields'}: searching by{' '}
            {personal.length === 1 ? 'it' : 'them'} needs the admin role.
          </p>
        )}
        <div className="mt-3 flex flex-wrap items-baseline gap-3 text-sm">
          <a className="text-blue-700 underline dark:text-blue-300" href={exportURL(applied, 'csv')} download>
            Export CSV
          </a>
          <a className="text-blue-700 underline dark:text-blue-300" href={exportURL(applied, 'ndjson')} download>
            Export NDJSON
          </a>
          <span className="text-xs text-slate-600 dark:text-slate-400">
            Exports every event matching the last search, not only the rows shown.
          </span>
        </div>
      </Card>
      <Card title="Results" actions={<CardNote>{count(events.length)} shown</CardNote>}>
        {error && <ErrorText>Could not load events: {error}</ErrorText>}
        {!loaded ? (
          !error && <Loading>Searching…</Loading>
        ) : (
          <DataTable
            caption="Events, newest first"
            columns={eventColumns(onOpenTimeline)}
            rows={events}
            rowKey={(e) => e.event_id}
            empty="No events match."
          />
        )}
        <div className="mt-3 flex items-center gap-3">
          {cursor !== null && (
            <Button disabled={loading} onClick={() => void pages.fetchNextPage()}>
              Load more
            </Button>
          )}
          {loading && loaded && <span className="text-xs text-slate-600 dark:text-slate-400">Loading…</span>}
        </div>
      </Card>
    </div>
  )
}
