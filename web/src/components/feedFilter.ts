import type { StoredEvent } from '../api/schema'

/** What the live feed shows: one event type, one user, and text in the element, page or message. */
export interface FeedFilter {
  type: string
  user: string
  text: string
}

export const NO_FILTER: FeedFilter = { type: '', user: '', text: '' }

export function isFiltering(f: FeedFilter): boolean {
  return f.type !== '' || f.user.trim() !== '' || f.text.trim() !== ''
}

/** The events f lets through, in their order; the list itself when f is empty. */
export function filterFeed(events: readonly StoredEvent[], f: FeedFilter): readonly StoredEvent[] {
  if (!isFiltering(f)) return events
  const user = f.user.trim().toLowerCase()
  const text = f.text.trim().toLowerCase()
  return events.filter(
    (e) =>
      (f.type === '' || e.event_type === f.type) &&
      (user === '' || e.user_id.toLowerCase().includes(user)) &&
      (text === '' ||
        e.element_id.toLowerCase().includes(text) ||
        (e.page ?? '').toLowerCase().includes(text) ||
        (e.message ?? '').toLowerCase().includes(text)),
  )
}

/**
 * How many of the events in `now` came after `since`'s newest: what a paused
 * feed has not shown yet. All of them when that event left the buffer.
 */
export function newSince(now: readonly StoredEvent[], since: readonly StoredEvent[]): number {
  if (since.length === 0) return now.length
  const i = now.findIndex((e) => e.event_id === since[0].event_id)
  return i === -1 ? now.length : i
}
