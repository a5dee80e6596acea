// The feed state and the pure function that folds server frames into it.
// Kept free of React so the batching hook and the tests share one reducer.

import type { ServerMessage } from '../api/ws'
import type { Marker, Message, Stats, Status, StoredEvent } from '../api/schema'

/**
 * A message as last seen live, with every status it was seen in, in order:
 * states between two frames of this client are kept even though only the
 * latest is rendered.
 */
export interface LiveMessage extends Message {
  seen: readonly Status[]
}

/** What the dashboard knows from the live socket. */
export interface FeedState {
  /** The newest events, newest first, at most `limits.events` of them. */
  events: StoredEvent[]
  /**
   * Events that happened but are not in `events`: sampled away by the server
   * (new_events.dropped) or trimmed from the bounded buffer since the last
   * resync.
   */
  notShown: number
  /** The part of notShown the server sampled away (new_events.dropped); the rest was trimmed here. */
  sampled: number
  stats: Stats | null
  /** Latest known state of each processing-log message, least recently updated first. */
  messages: ReadonlyMap<string, LiveMessage>
  /** How many initial_data frames arrived: bumps on every (re)sync. */
  resyncs: number
  /** Rebalances, commit stalls and DLQ bursts seen live, oldest first, at most limits.markers. */
  markers: readonly Marker[]
}

export interface FeedLimits {
  events: number
  messages: number
  markers: number
}

export const DEFAULT_LIMITS: FeedLimits = { events: 500, messages: 500, markers: 200 }

export const EMPTY_FEED: FeedState = {
  events: [],
  notShown: 0,
  sampled: 0,
  stats: null,
  messages: new Map(),
  resyncs: 0,
  markers: [],
}

/** Identifies a processing-log message by its Kafka record. */
export function messageKey(m: Message): string {
  return m.topic === '' ? `event:${m.event_id}` : `${m.topic}/${m.partition}/${m.offset}`
}

const TERMINAL = new Set(['completed', 'failed', 'dead_lettered'])

/** Reports whether no further state follows the message's status. */
export function isTerminal(m: Message): boolean {
  return TERMINAL.has(m.status)
}

// newestFirst orders stored events by row id, which the store assigns in
// insertion order; the server's batch order is not part of the contract.
function newestFirst(a: StoredEvent, b: StoredEvent): number {
  return b.id - a.id
}

function mergeMessages(into: Map<string, LiveMessage>, update: Message[], limit: number): void {
  for (const m of update) {
    const k = messageKey(m)
    const old = into.get(k)
    const seen = old === undefined ? [m.status] : old.seen.includes(m.status) ? old.seen : [...old.seen, m.status]
    into.delete(k)
    into.set(k, { ...m, seen })
  }
  if (into.size <= limit) return
  // Evict finished messages first: in-flight ones are what the monitor is for.
  for (const [k, m] of into) {
    if (into.size <= limit) return
    if (isTerminal(m)) into.delete(k)
  }
  for (const k of into.keys()) {
    if (into.size <= limit) return
    into.delete(k)
  }
}

/** Folds frames, in arrival order, into state and returns the new state. */
export function applyFrames(state: FeedState, frames: ServerMessage[], limits: FeedLimits = DEFAULT_LIMITS): FeedState {
  if (frames.length === 0) return state
  let events = state.events
  let notShown = state.notShown
  let sampled = state.sampled
  let stats = state.stats
  let resyncs = state.resyncs
  let markers = state.markers
  let messages: Map<string, LiveMessage> | null = null
  let incoming: StoredEvent[] = []

  const takeIncoming = () => {
    if (incoming.length === 0) return
    const known = new Set(events.map((e) => e.event_id))
    const fresh = incoming.filter((e) => !known.has(e.event_id))
    fresh.sort(newestFirst)
    events = fresh.concat(events)
    incoming = []
  }

  for (const f of frames) {
    switch (f.type) {
      case 'initial_data':
        // The snapshot supersedes anything that arrived before it.
        incoming = []
        events = f.events.slice().sort(newestFirst)
        notShown = 0
        sampled = 0
        stats = f.stats
        messages = new Map()
        mergeMessages(messages, f.messages.slice().reverse(), limits.messages)
        resyncs++
        break
      case 'new_event':
        incoming.push(f.event)
        break
      case 'new_events':
        incoming.push(...f.events)
        notShown += f.dropped
        sampled += f.dropped
        break
      case 'stats_update':
        stats = f.stats
        break
      case 'queue_update':
        messages ??= new Map(state.messages)
        mergeMessages(messages, f.messages, limits.messages)
        break
      case 'marker':
        // A resync does not clear markers: they are history, not state.
        markers = [...markers, f.marker].slice(-limits.markers)
        break
    }
  }
  takeIncoming()
  if (events.length > limits.events) {
    notShown += events.length - limits.events
    events = events.slice(0, limits.events)
  }
  return { events, notShown, sampled, stats, messages: messages ?? state.messages, resyncs, markers }
}
