import { useInfiniteQuery } from '@tanstack/react-query'
import { useMemo } from 'react'
import { eventsQuery } from '../api/queries'
import type { ExplorerFilter, Trend, UserProfile, UserSession } from '../api/schema'
import { TypeCounts } from '../components/TypeCounts'
import { Button } from '../components/ui/Button'
import { Card, CardNote } from '../components/ui/Card'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { StatList } from '../components/ui/StatList'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime, errorMessage, wait } from '../format'
import { hashOf } from '../hooks/route'
import { useUserProfile } from '../hooks/resources'
import { eventColumns } from './ExplorerView'
import { TrendChart } from './InsightsPage'
import { isMasked } from '../api/privacy'
import { MaskedValue } from '../components/MaskedValue'

const PAGE = 50

/** A user's days as a trend the trends chart draws as bars: the events of each UTC day. */
export function daysTrend(p: UserProfile): Trend {
  const buckets = p.days.map((d) => `${d.day}T00:00:00Z`)
  const counts = p.days.map((d) => d.events)
  const total = counts.reduce((a, b) => a + b, 0)
  return {
    interval: 'day',
    breakdown: '',
    measure: 'count',
    exact: true,
    current: {
      from: buckets[0] ?? p.first_seen,
      to: buckets.at(-1) ?? p.first_seen,
      buckets,
      series: [{ key: '', total, counts }],
      total,
    },
    previous: null,
  }
}

const sessionColumns: Column<UserSession>[] = [
  { header: 'Start', cell: (s) => dateTime(s.start), className: 'whitespace-nowrap' },
  { header: 'Duration', cell: (s) => wait((Date.parse(s.end) - Date.parse(s.start)) / 1000) },
  { header: 'Events', cell: (s) => count(s.events) },
  {
    header: 'Pages',
    cell: (s) => (s.pages.length === 0 ? '—' : <span title={s.pages.join(' → ')}>{s.pages.join(' → ')}</span>),
    className: '@2xl:max-w-md @2xl:truncate',
  },
  {
    header: 'Session',
    cell: (s) =>
      isMasked(s.session_id) ? (
        <MaskedValue value={s.session_id} />
      ) : (
        <a
          className="text-blue-700 underline dark:text-blue-300"
          href={hashOf('explorer', { session_id: s.session_id })}
          aria-label={`Events of session ${s.session_id}`}
        >
          {s.session_id}
        </a>
      ),
    className: '@2xl:max-w-[10rem] @2xl:truncate',
  },
]

/** The user's events, newest first, through the explorer's pages. */
function UserEvents({ userId, onOpenTimeline }: { userId: string; onOpenTimeline?: (eventId: string) => void }) {
  const filter = useMemo((): ExplorerFilter => ({ user_id: userId }), [userId])
  const pages = useInfiniteQuery(eventsQuery(filter, PAGE))
  const events = useMemo(() => pages.data?.pages.flatMap((p) => p.events) ?? [], [pages.data])
  const more = pages.hasNextPage
  const loaded = pages.data !== undefined
  const error = pages.error === null ? null : errorMessage(pages.error)
  return (
    <Card title="Events" actions={<CardNote>{count(events.length)} shown, newest first</CardNote>}>
      {error && <ErrorText>Could not load the events: {error}</ErrorText>}
      {!loaded ? (
        !error && <Loading />
      ) : (
        <DataTable
          caption="The user's events, newest first"
          columns={eventColumns(onOpenTimeline, false)}
          rows={events}
          rowKey={(e) => e.event_id}
          empty="No events stored."
        />
      )}
      <div className="mt-3 flex items-center gap-3">
        {more && (
          <Button disabled={pages.isFetching} onClick={() => void pages.fetchNextPage()}>
            Load more
          </Button>
        )}
        {pages.isFetching && loaded && <span className="text-xs text-slate-600 dark:text-slate-400">Loading…</span>}
      </div>
    </Card>
  )
}

/**
 * A user's page: first and last seen, events by type and by day, recent
 * sessions, and the events themselves.
 */
export function UserPage({
  userId,
  pollMs = 30_000,
  onOpenTimeline,
}: {
  userId: string
  pollMs?: number
  onOpenTimeline?: (eventId: string) => void
}) {
  const profile = useUserProfile(userId, pollMs)
  const p = profile.data
  if (userId === '') return <Empty>No user named: open a user from the explorer or a funnel.</Empty>
  if (profile.notFound) {
    return (
      <Card title={`User ${userId}`}>
        <Empty>No events for this user.</Empty>
      </Card>
    )
  }
  if (p === null) {
    return (
      <Card title={`User ${userId}`}>
        {profile.error ? <ErrorText>Could not load the user: {profile.error}</ErrorText> : <Loading />}
      </Card>
    )
  }
  const activeDays = p.days.filter((d) => d.events > 0).length
  const sessionsNote =
    p.sessions_from_events === 0
      ? 'No events stored.'
      : `From the latest ${count(p.sessions_from_events)} ${p.sessions_from_events === 1 ? 'event' : 'events'}${
          p.sessions.length === 100 ? '; the 100 newest sessions' : ''
        }.`
  return (
    <div className="flex flex-col gap-6">
      <Card title={`User ${p.user_id}`}>
        {profile.error && <ErrorText>Could not refresh the user: {profile.error}</ErrorText>}
        <StatList
          label="User"
          columns="grid-cols-1 sm:grid-cols-2 lg:grid-cols-4"
          items={[
            ['User ID', <MaskedValue key="user" value={p.user_id} />],
            ['First seen', dateTime(p.first_seen)],
            [
              'Last seen',
              // Only the day is known when the user's latest event is not among their latest stored.
              p.last_seen_day && p.last_seen ? `${p.last_seen.slice(0, 10)} (UTC day)` : dateTime(p.last_seen),
            ],
            [`Events since ${p.counted_from}`, count(p.events)],
          ]}
        />
        {p.last_seen === null && (
          <div className="mt-4">
            <Empty>No events for this user are stored any more.</Empty>
          </div>
        )}
      </Card>
      {p.last_seen !== null && (
        <>
          <div className="grid gap-6 lg:grid-cols-3">
            <Card title="Event types">
              <TypeCounts
                counts={p.event_types}
                name={(type) => type}
                empty={<Empty>No events in the days counted.</Empty>}
              />
            </Card>
            <Card
              title="Activity"
              className="lg:col-span-2"
              actions={
                <CardNote>
                  {count(activeDays)} active {activeDays === 1 ? 'day' : 'days'} of the last {p.days.length}, UTC
                </CardNote>
              }
            >
              {activeDays === 0 ? (
                <Empty>No events in the last {p.days.length} days.</Empty>
              ) : (
                <TrendChart trend={daysTrend(p)} bars label={`Events per day, the last ${p.days.length} days`} />
              )}
            </Card>
          </div>
          <Card title="Sessions" actions={<CardNote>{sessionsNote}</CardNote>}>
            <DataTable
              caption="Recent sessions, newest first"
              columns={sessionColumns}
              rows={p.sessions}
              rowKey={(s) => s.session_id}
              empty="No sessions: none of these events has a session."
            />
          </Card>
          <UserEvents userId={p.user_id} onOpenTimeline={onOpenTimeline} />
        </>
      )}
    </div>
  )
}
