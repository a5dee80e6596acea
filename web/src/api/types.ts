// Payload types of the Pulse HTTP and WebSocket API. They mirror the Go JSON
// in internal/event and docs/api.md field for field: change both together.

/** Where a message entered Pulse. */
export type Source = 'api' | 'kafka' | 'producer'

export const SOURCES: readonly Source[] = ['api', 'kafka', 'producer']

/** The state of a message in the processing log. */
export type Status = 'queued' | 'processing' | 'retrying' | 'completed' | 'failed' | 'dead_lettered'

export const STATUSES: readonly Status[] = [
  'queued',
  'processing',
  'retrying',
  'completed',
  'failed',
  'dead_lettered',
]

/** A tracked user action (event.Event). */
export interface Event {
  event_id: string
  user_id: string
  event_type: string
  element_id: string
  /** RFC 3339. */
  timestamp: string
  session_id?: string
  page?: string
  message?: string
  properties?: Record<string, unknown>
  delay_seconds?: number
  should_fail?: boolean
}

/** An event as stored (event.Stored). */
export interface StoredEvent extends Event {
  id: number
  source: Source
  partition: number
  offset: number
  created_at: string
}

/** The processing-log record of one Kafka record (event.Message). */
export interface Message {
  /** 0 while in flight (not stored yet). */
  id: number
  event_id: string
  event_type: string
  user_id: string
  element_id: string
  status: Status
  source: Source
  consumer_id: string
  topic: string
  partition: number
  offset: number
  request_id?: string
  queued_at: string
  started_at: string | null
  completed_at: string | null
  duration_ms: number
  retries: number
  next_retry_at?: string
  error?: string
}

/** Processing-log counters. */
export interface QueueStats {
  total: number
  queued: number
  processing: number
  retrying: number
  completed: number
  failed: number
  dead_lettered: number
  avg_processing_time_ms: number
}

/** Dashboard statistics. */
export interface Stats {
  total_events: number
  event_types: Record<string, number>
  /** Top 10 clicked (button_click) elements. */
  top_elements: { element_id: string; count: number }[]
  queue: QueueStats
  /** Stored events per second over the last 10 s. */
  events_per_second: number
  /** Events stored in the last 5 minutes. */
  recent_5min: number
}

/** The body of POST /api/events/create/: event_id and timestamp are optional. */
export type EventInput = Omit<Event, 'event_id' | 'timestamp'> & {
  event_id?: string
  timestamp?: string
}

/** The 201 answer of POST /api/events/create/. */
export interface CreateEventResponse {
  status: 'accepted'
  event_id: string
  topic: string
  partition: number
  offset: number
  request_id: string
}

/** The answer of GET /api/queue/messages/. */
export interface QueueMessagesResponse {
  messages: Message[]
  count: number
}

/** The answer of GET /api/events/latest/. */
export interface LatestEventsResponse {
  events: StoredEvent[]
  stats: Stats
}

/** One member of the consumer group (GET /api/consumer_metrics/). */
export interface ConsumerStats {
  consumer_id: string
  partitions: number[]
  processed: number
  failed: number
  retried: number
  dead_lettered: number
  avg_processing_time_ms: number
  in_flight: number
  last_commit_at: string | null
}

/** The group's position on one partition. */
export interface PartitionLag {
  partition: number
  committed_offset: number
  end_offset: number
  lag: number
}

/** The answer of GET /api/consumer_metrics/. */
export interface ConsumerMetrics {
  group: string
  topic: string
  consumers: ConsumerStats[]
  partitions: PartitionLag[]
  total_lag: number
}
