// The WebSocket protocol of /ws/events/: a union discriminated on `type`,
// checked on arrival so nothing malformed reaches the UI state.

import { isArrayOf, isMarker, isMessage, isObject, isStats, isStoredEvent } from './guards'
import type { Marker, Message, Stats, StoredEvent } from './types'

/** A frame the server sends. */
export type ServerMessage =
  | { type: 'initial_data'; events: StoredEvent[]; stats: Stats; messages: Message[] }
  | { type: 'new_event'; event: StoredEvent }
  | { type: 'new_events'; events: StoredEvent[]; dropped: number }
  | { type: 'stats_update'; stats: Stats }
  | { type: 'queue_update'; messages: Message[] }
  | { type: 'marker'; marker: Marker }

/** A frame the client sends. */
export type ClientMessage = { type: 'get_stats' }

/**
 * Checks a frame's shape and returns it typed, or null when it is not a
 * well-formed ServerMessage. data may be the raw text of the frame or an
 * already parsed value.
 */
export function parseServerMessage(data: unknown): ServerMessage | null {
  let v = data
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch {
      return null
    }
  }
  if (!isObject(v)) return null
  switch (v.type) {
    case 'initial_data':
      if (isArrayOf(v.events, isStoredEvent) && isStats(v.stats) && isArrayOf(v.messages, isMessage)) {
        return { type: 'initial_data', events: v.events, stats: v.stats, messages: v.messages }
      }
      return null
    case 'new_event':
      return isStoredEvent(v.event) ? { type: 'new_event', event: v.event } : null
    case 'new_events':
      if (
        isArrayOf(v.events, isStoredEvent) &&
        typeof v.dropped === 'number' &&
        Number.isInteger(v.dropped) &&
        v.dropped >= 0
      ) {
        return { type: 'new_events', events: v.events, dropped: v.dropped }
      }
      return null
    case 'stats_update':
      return isStats(v.stats) ? { type: 'stats_update', stats: v.stats } : null
    case 'queue_update':
      return isArrayOf(v.messages, isMessage) ? { type: 'queue_update', messages: v.messages } : null
    case 'marker':
      return isMarker(v.marker) ? { type: 'marker', marker: v.marker } : null
    default:
      return null
  }
}
