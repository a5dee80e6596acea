import { useVirtualizer } from '@tanstack/react-virtual'
import { memo, useId, useLayoutEffect, useMemo, useRef, useState } from 'react'
import type { StoredEvent } from '../api/schema'
import { clockTime, count } from '../format'
import { useRouteParams } from '../hooks/route'
import { useActiveRow } from '../hooks/useActiveRow'
import { filterFeed, isFiltering, newSince, type FeedFilter } from './feedFilter'
import { TypeBadge } from './TypeBadge'
import { Button } from './ui/Button'
import { Card } from './ui/Card'
import { Input, Label, Select } from './ui/Field'
import { Empty } from './ui/State'
import { MaskedValue } from './MaskedValue'

/** Every row has the same height, so keeping the reader's place is exact arithmetic. */
export const ROW_HEIGHT = 76

// The feed scrolls past this height; below it, it is as tall as its rows.
const MAX_HEIGHT = 440

// Within this many pixels of the top the feed follows new events.
const TOP_SLACK = 4

interface Props {
  events: StoredEvent[]
  /** Events received but not in events: sampled by the server or beyond the buffer. */
  notShown: number
  /** The part of notShown the server sampled away. */
  sampled?: number
  /** How many events the buffer keeps (live/feed.ts DEFAULT_LIMITS). */
  kept?: number
  /** Opens the timeline of an event's message. */
  onOpenTimeline?: (eventId: string) => void
}

/** The server sends each dashboard at most this many events per update (internal/live maxBatchEvents). */
const SERVER_BATCH = 50

/** What "not shown" is made of, in words. */
export function notShownText(notShown: number, sampled: number, kept: number): string {
  const trimmed = Math.max(0, notShown - sampled)
  const parts: string[] = []
  if (sampled > 0) {
    parts.push(
      `${count(sampled)} sampled out (the server sends at most ${SERVER_BATCH} events per update, newest first)`,
    )
  }
  if (trimmed > 0) parts.push(`${count(trimmed)} older than the newest ${count(kept)} kept here`)
  return `${count(notShown)} not shown: ${parts.join('; ')}. The totals count every event.`
}

// The rows' own buttons are not tab stops: the list is one (Enter opens the
// active row's timeline), so 50 rows do not cost 50 more Tab presses.
const FeedRow = memo(function FeedRow({
  e,
  active,
  onOpenTimeline,
}: {
  e: StoredEvent
  active: boolean
  onOpenTimeline?: (id: string) => void
}) {
  return (
    <div
      className={`h-[68px] overflow-hidden rounded-md border px-3 py-2 ${
        active
          ? 'border-slate-200 group-focus-visible:border-blue-600 group-focus-visible:bg-blue-50 dark:border-slate-800 dark:group-focus-visible:border-blue-400 dark:group-focus-visible:bg-blue-950/40'
          : 'border-slate-200 dark:border-slate-800'
      }`}
    >
      <div className="flex items-center gap-2">
        <TypeBadge type={e.event_type} />
        <span className="min-w-0 truncate text-sm text-slate-800 dark:text-slate-200">
          <MaskedValue value={e.user_id} />
        </span>
        <time
          dateTime={e.timestamp}
          className="ml-auto shrink-0 text-xs text-slate-600 tabular-nums dark:text-slate-400"
        >
          {clockTime(e.timestamp)}
        </time>
        {onOpenTimeline && (
          <Button
            size="sm"
            tabIndex={-1}
            aria-label={`Timeline of ${e.event_type} on ${e.element_id || 'no element'}`}
            onClick={() => onOpenTimeline(e.event_id)}
          >
            Timeline
          </Button>
        )}
      </div>
      <p className="mt-1 truncate text-xs text-slate-600 dark:text-slate-400">
        Element: {e.element_id || '—'}
        {e.page ? ` · Page: ${e.page}` : ''}
        {e.message ? ` · “${e.message}”` : ''}
      </p>
    </div>
  )
})

/** The live event feed: newest on top, virtualised, following new events unless the reader scrolled away. */
export function LiveFeed({ events, notShown, sampled = 0, kept = 500, onOpenTimeline }: Props) {
  const ids = useId()
  // The filter is the URL's, so a link shows the same feed.
  const [params, setParams] = useRouteParams()
  const filter = useMemo<FeedFilter>(
    () => ({
      type: params.get('feed_type') ?? '',
      user: params.get('feed_user') ?? '',
      text: params.get('feed_q') ?? '',
    }),
    [params],
  )
  // Paused: the list stays as it was; the events keep arriving underneath.
  const [frozen, setFrozen] = useState<StoredEvent[] | null>(null)
  const source = frozen ?? events
  const shown = useMemo(() => filterFeed(source, filter), [source, filter])
  const waiting = frozen === null ? 0 : newSince(events, frozen)
  const types = useMemo(() => {
    const seen = new Set(events.map((e) => e.event_type))
    if (filter.type !== '') seen.add(filter.type)
    return [...seen].sort()
  }, [events, filter.type])

  const scrollRef = useRef<HTMLDivElement>(null)
  const pinned = useRef(true)
  const firstId = useRef<string | undefined>(undefined)
  const [unseen, setUnseen] = useState(0)

  // The app is not built with the React Compiler; the rule only says the
  // compiler would skip this component.
  // eslint-disable-next-line react-hooks/incompatible-library -- see above
  const virtualizer = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 6,
    initialRect: { width: 600, height: MAX_HEIGHT },
  })

  // When new events arrive on top while the reader is further down, move the
  // scroll position by the rows added so what they read stays put.
  useLayoutEffect(() => {
    const previous = firstId.current
    firstId.current = shown[0]?.event_id
    if (previous === undefined || shown.length === 0) return
    const added = shown.findIndex((e) => e.event_id === previous)
    if (added === 0) return
    const el = scrollRef.current
    if (el === null) return
    if (added === -1) {
      // A resync replaced the list: there is no place to keep.
      el.scrollTop = 0
      pinned.current = true
      setUnseen(0)
      return
    }
    // Pinned to the top, the list is already there (overflow-anchor is off,
    // so the browser does not move it to keep the old rows in view): writing
    // scrollTop would force a layout of the whole page on every update, 15%
    // of the main thread at 5,000 events/s.
    if (pinned.current) return
    el.scrollTop += added * ROW_HEIGHT
    setUnseen((n) => n + added)
  }, [shown])

  const onScroll = () => {
    const el = scrollRef.current
    if (el === null) return
    pinned.current = el.scrollTop <= TOP_SLACK
    if (pinned.current) setUnseen(0)
  }

  const jumpToTop = () => {
    pinned.current = true
    setUnseen(0)
    // Instant, not smooth: a smooth scroll would be interrupted by the rows
    // that keep arriving.
    if (scrollRef.current) scrollRef.current.scrollTop = 0
  }

  // One tab stop for the whole feed: the keys move the active row, Enter opens its timeline.
  const keys = useMemo(() => shown.map((e) => e.event_id), [shown])
  const { active, rowId, hintId, listProps } = useActiveRow({
    keys,
    scrollTo: (i) => virtualizer.scrollToIndex(i, { align: 'auto' }),
    onEnter: onOpenTimeline,
  })

  const items = virtualizer.getVirtualItems()
  const setFilter = (patch: Partial<Record<'feed_type' | 'feed_user' | 'feed_q', string>>) =>
    setParams(Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v === '' ? null : v])), { replace: true })
  return (
    <Card
      title="Live Event Feed"
      actions={
        <Button size="sm" aria-pressed={frozen !== null} onClick={() => setFrozen(frozen === null ? events : null)}>
          {frozen === null ? 'Pause' : 'Resume'}
        </Button>
      }
    >
      {/* Two columns on a phone (the text filter on its own row), one row from sm up. */}
      <div className="mb-2 grid grid-cols-2 items-end gap-2 sm:grid-cols-[auto_8rem_minmax(0,1fr)]">
        <div className="flex min-w-0 flex-col gap-1">
          <Label htmlFor={`${ids}-type`}>Type</Label>
          <Select
            id={`${ids}-type`}
            className="w-full"
            value={filter.type}
            onChange={(e) => setFilter({ feed_type: e.target.value })}
          >
            <option value="">All types</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t.replace('_', ' ')}
              </option>
            ))}
          </Select>
        </div>
        <div className="flex min-w-0 flex-col gap-1">
          <Label htmlFor={`${ids}-user`}>User</Label>
          <Input
            id={`${ids}-user`}
            className="w-full"
            value={filter.user}
            placeholder="user_…"
            onChange={(e) => setFilter({ feed_user: e.target.value })}
          />
        </div>
        <div className="col-span-2 flex min-w-0 flex-col gap-1 sm:col-span-1">
          <Label htmlFor={`${ids}-text`}>Text</Label>
          <Input
            id={`${ids}-text`}
            className="w-full"
            value={filter.text}
            placeholder="element, page or message"
            onChange={(e) => setFilter({ feed_q: e.target.value })}
          />
        </div>
      </div>
      {notShown > 0 && (
        <p className="mb-2 text-xs text-slate-600 dark:text-slate-400">{notShownText(notShown, sampled, kept)}</p>
      )}
      {/* A bar of its own above the list, so it never covers a row; its height is kept when empty. */}
      <div className="mb-1 flex h-7 items-center justify-between gap-2 text-xs text-slate-600 dark:text-slate-400">
        <span aria-live="polite">
          {frozen !== null
            ? `Paused: ${count(waiting)} new since`
            : isFiltering(filter)
              ? `${count(shown.length)} of the ${count(events.length)} newest match`
              : 'Newest first'}
        </span>
        {frozen === null && unseen > 0 && (
          <Button size="sm" variant="primary" onClick={jumpToTop}>
            {count(unseen)} new ↑
          </Button>
        )}
      </div>
      {shown.length === 0 ? (
        <Empty>
          {events.length === 0
            ? 'No events yet. Click a button above to send one.'
            : 'No event matches the filter among the newest ones.'}
        </Empty>
      ) : (
        <div
          ref={scrollRef}
          onScroll={onScroll}
          {...listProps}
          role="group"
          aria-label="Live events, newest first"
          className="group overflow-y-auto rounded focus-visible:outline-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400"
          style={{ height: Math.min(MAX_HEIGHT, shown.length * ROW_HEIGHT), overflowAnchor: 'none' }}
        >
          <ul className="relative" style={{ height: virtualizer.getTotalSize() }}>
            {items.map((item) => {
              const e = shown[item.index]
              return (
                <li
                  key={e.event_id}
                  id={rowId(item.index)}
                  aria-setsize={shown.length}
                  aria-posinset={item.index + 1}
                  className="absolute top-0 left-0 w-full"
                  style={{ height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                >
                  <FeedRow e={e} active={item.index === active} onOpenTimeline={onOpenTimeline} />
                </li>
              )
            })}
          </ul>
        </div>
      )}
      {shown.length > 0 && (
        <p id={hintId} className="mt-2 text-xs text-slate-600 dark:text-slate-400">
          In the list: ↑ ↓ move between events, Enter opens the timeline.
        </p>
      )}
    </Card>
  )
}
