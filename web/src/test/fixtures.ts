// Well-formed payloads as the server sends them, for tests to vary.
import type { Message, Stats, StoredEvent } from '../api/schema'

let nextId = 1

export function storedEvent(over: Partial<StoredEvent> = {}): StoredEvent {
  const id = over.id ?? nextId++
  return {
    id,
    event_id: `ev-${id}`,
    user_id: 'user_ab12',
    event_type: 'button_click',
    element_id: 'button_1',
    timestamp: '2026-11-25T10:00:00.000Z',
    source: 'api',
    partition: 0,
    offset: id,
    created_at: '2026-11-25T10:00:00.020Z',
    ...over,
  }
}

export function message(over: Partial<Message> = {}): Message {
  return {
    id: 0,
    event_id: 'ev-1',
    event_type: 'button_click',
    user_id: 'user_ab12',
    element_id: 'button_1',
    status: 'processing',
    source: 'api',
    consumer_id: 'c1',
    topic: 'user_events',
    partition: 0,
    offset: 1,
    queued_at: '2026-11-25T10:00:00.000Z',
    started_at: '2026-11-25T10:00:00.005Z',
    completed_at: null,
    duration_ms: 0,
    retries: 0,
    ...over,
  }
}

export function stats(over: Partial<Stats> = {}): Stats {
  return {
    total_events: 0,
    event_types: {},
    top_elements: [],
    queue: {
      total: 0,
      queued: 0,
      processing: 0,
      retrying: 0,
      completed: 0,
      failed: 0,
      dead_lettered: 0,
      avg_processing_time_ms: 0,
    },
    events_per_second: 0,
    recent_5min: 0,
    ...over,
  }
}

/** GET /api/consumers/ as the server writes it: a local member with counters, a remote one without, null lists. */
export const consumersView = {
  group: 'dashboard_consumer_group',
  topic: 'user_events',
  state: 'Stable',
  members: [
    {
      member_id: 'm-1',
      client_id: 'pulse-1',
      host: '/127.0.0.1',
      partitions: [0, 1],
      local: true,
      processed: 1250,
      dead_lettered: 2,
      retried: 6,
      in_flight: 1,
      last_commit_at: null,
    },
    { member_id: 'm-2', client_id: 'other', host: '/10.0.0.2', partitions: null, local: false },
  ],
  partitions: [
    {
      partition: 0,
      member: 'pulse-1',
      committed_offset: 10,
      end_offset: 17,
      lag: 7,
      lag_seconds: 4.25,
      lowest_unfinished: 10,
    },
    { partition: 1, member: '', committed_offset: -1, end_offset: 0, lag: 0, lag_seconds: 0, lowest_unfinished: null },
  ],
  total_lag: 7,
  max_lag_seconds: 4.25,
  freshness_seconds: 0.3,
  sampled_at: '2026-11-25T10:00:00Z',
}
