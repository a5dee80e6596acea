import { useVirtualizer } from '@tanstack/react-virtual'
import { memo, useLayoutEffect, useMemo, useRef, useState } from 'react'
import type { StoredEvent } from '../api/schema'
import { clockTime, count } from '../format'
import { useActiveRow } from '../hooks/useActiveRow'
import { TypeBadge } from './TypeBadge'
import { Button } from './ui/Button'
import { Card, CardNote } from './ui/Card'
import { Empty } from './ui/State'

/** Every row has the same height, so keeping the reader's place is exact arithmetic. */
export const ROW_HEIGHT = 76

// The feed scrolls past this height; below it, it is as tall as its rows.
const MAX_HEIGHT = 440

// Within this many pixels of the top the feed follows new events.
const TOP_SLACK = 4

interface Props {
  events: StoredEvent[]
  notShown: number
  /** Opens the timeline of an event's message. */
  onOpenTimeline?: (eventId: string) => void
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
        <span className="min-w-0 truncate text-sm text-slate-800 dark:text-slate-200">{e.user_id}</span>
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
export function LiveFeed({ events, notShown, onOpenTimeline }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null)
  const pinned = useRef(true)
  const firstId = useRef<string | undefined>(undefined)
  const [unseen, setUnseen] = useState(0)

  // The app is not built with the React Compiler; the rule only says the
  // compiler would skip this component.
  // eslint-disable-next-line react-hooks/incompatible-library -- see above
  const virtualizer = useVirtualizer({
    count: events.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 6,
    initialRect: { width: 600, height: MAX_HEIGHT },
  })

  // When new events arrive on top while the reader is further down, move the
  // scroll position by the rows added so what they read stays put.
  useLayoutEffect(() => {
    const previous = firstId.current
    firstId.current = events[0]?.event_id
    if (previous === undefined || events.length === 0) return
    const added = events.findIndex((e) => e.event_id === previous)
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
    if (pinned.current) {
      el.scrollTop = 0
      return
    }
    el.scrollTop += added * ROW_HEIGHT
    setUnseen((n) => n + added)
  }, [events])

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
  const keys = useMemo(() => events.map((e) => e.event_id), [events])
  const { active, rowId, hintId, listProps } = useActiveRow({
    keys,
    scrollTo: (i) => virtualizer.scrollToIndex(i, { align: 'auto' }),
    onEnter: onOpenTimeline,
  })

  const items = virtualizer.getVirtualItems()
  return (
    <Card
      title="Live Event Feed"
      className="relative"
      actions={notShown > 0 ? <CardNote>{count(notShown)} not shown</CardNote> : null}
    >
      {unseen > 0 && (
        <button
          type="button"
          onClick={jumpToTop}
          className="absolute top-14 left-1/2 z-10 -translate-x-1/2 rounded-full bg-blue-600 px-3 py-1 text-xs font-medium text-white shadow focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600"
        >
          {count(unseen)} new ↑
        </button>
      )}
      {events.length === 0 ? (
        <Empty>No events yet. Click a button above to send one.</Empty>
      ) : (
        <div
          ref={scrollRef}
          onScroll={onScroll}
          {...listProps}
          role="group"
          aria-label="Live events, newest first"
          className="group overflow-y-auto rounded focus-visible:outline-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400"
          style={{ height: Math.min(MAX_HEIGHT, events.length * ROW_HEIGHT) }}
        >
          <ul className="relative" style={{ height: virtualizer.getTotalSize() }}>
            {items.map((item) => {
              const e = events[item.index]
              return (
                <li
                  key={e.event_id}
                  id={rowId(item.index)}
                  aria-setsize={events.length}
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
      {events.length > 0 && (
        <p id={hintId} className="mt-2 text-xs text-slate-600 dark:text-slate-400">
          In the list: ↑ ↓ move between events, Enter opens the timeline.
        </p>
      )}
    </Card>
  )
}
