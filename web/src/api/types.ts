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

// ---- Operator console (docs/api.md, "Operator console") ----

/** The group's position on one partition, with lag in records and seconds. */
export interface PartitionView {
  partition: number
  /** Client id of the owner, "" if none. */
  member: string
  /** -1: nothing committed. */
  committed_offset: number
  end_offset: number
  lag: number
  /** Age of the oldest unprocessed record (0 when lag is 0). */
  lag_seconds: number
  /** From the owning member when it runs in this process. */
  lowest_unfinished: number | null
}

/** One member of the consumer group; counters only when it runs in this process. */
export interface MemberView {
  member_id: string
  client_id: string
  host: string
  partitions: number[]
  local: boolean
  processed?: number
  dead_lettered?: number
  retried?: number
  in_flight?: number
  last_commit_at?: string | null
}

/** The answer of GET /api/consumers/. */
export interface ConsumersView {
  group: string
  topic: string
  /** "Stable", "PreparingRebalance", "Empty", "Dead"... */
  state: string
  members: MemberView[]
  partitions: PartitionView[]
  total_lag: number
  max_lag_seconds: number
  /** Now minus created_at of the newest stored event. */
  freshness_seconds: number
  sampled_at: string
}

export type MarkerKind = 'rebalance' | 'commit_stall' | 'dlq_burst'

export const MARKER_KINDS: readonly MarkerKind[] = ['rebalance', 'commit_stall', 'dlq_burst']

/** A notable moment drawn on the charts. */
export interface Marker {
  t: string
  kind: MarkerKind
  detail: string
}

/** One sample of the lag history. */
export interface HistoryPoint {
  t: string
  total_lag: number
  max_lag_seconds: number
  events_per_second: number
}

/** The answer of GET /api/consumers/history/: the last hour. */
export interface ConsumersHistory {
  interval_seconds: number
  points: HistoryPoint[]
  markers: Marker[]
}

/** A key held back by the ordering guarantee. */
export interface HeldKey {
  key: string
  partition: number
  offset: number
  event_id: string
  status: Status
  /** Records queued behind it. */
  waiting: number
  consumer_id: string
}

/** A partition's progress as the ordering view reports it. */
export interface OrderingPartition {
  partition: number
  consumer_id: string
  lowest_unfinished: number | null
  committed: number
}

/** The answer of GET /api/ordering/. */
export interface OrderingView {
  held_keys: HeldKey[]
  held_keys_total: number
  partitions: OrderingPartition[]
}

/** A record of the dead-letter topic. */
export interface DLQRecord {
  /** "<partition>:<offset>" in the DLQ topic. */
  id: string
  partition: number
  offset: number
  timestamp: string
  key: string
  original_topic: string
  original_partition: number
  original_offset: number
  error: string
  /** The error with specifics removed, e.g. "simulated failure". */
  kind: string
  attempts: number
  consumer_id: string
  failed_at: string
  /** "" when the payload has none or is not JSON. */
  event_id: string
  /** The record value as text, truncated to 16 KiB. */
  payload: string
  replayed: boolean
}

/** DLQ records sharing an error kind. */
export interface DLQGroup {
  kind: string
  count: number
  records: DLQRecord[]
}

/** The answer of GET /api/dlq/. */
export interface DLQView {
  total: number
  groups: DLQGroup[]
}

/** The body of POST /api/dlq/replay/. */
export interface ReplayRequest {
  ids?: string[]
  kind?: string
  all?: boolean
  dry_run?: boolean
  /** Records per second, default 100, max 1000. */
  rate?: number
  /** Default true: drop should_fail and delay_seconds so the replay can succeed. */
  strip_simulation?: boolean
}

/** The answer of POST /api/dlq/replay/. */
export interface ReplayResult {
  dry_run: boolean
  count: number
  records: { id: string; event_id: string; original_offset: number }[]
}

export type LoadStatus = 'running' | 'completed' | 'stopped' | 'failed'

/** A generated load run. */
export interface LoadRun {
  id: string
  status: LoadStatus
  started_at: string
  ends_at: string
  events_per_second: number
  duration_seconds: number
  failure_rate: number
  delay_rate: number
  mix: Record<string, number>
  /** Events the run will send in all. */
  target: number
  sent: number
  acked: number
  failed: number
  /** 0..1. */
  progress: number
  /** Acked events/s over the last second. */
  current_rate: number
  error?: string
}

/** The answer of GET /api/load/: a run, or idle when none ever ran. */
export type LoadState = LoadRun | { status: 'idle' }

/** The body of POST /api/load/. */
export interface LoadRequest {
  events_per_second: number
  duration_seconds: number
  failure_rate?: number
  delay_rate?: number
  mix?: Record<string, number>
}

export type StageName =
  | 'produced'
  | 'fetched'
  | 'started'
  | 'attempt_failed'
  | 'retry_scheduled'
  | 'dead_lettered'
  | 'stored'
  | 'broadcast'

export const STAGE_NAMES: readonly StageName[] = [
  'produced',
  'fetched',
  'started',
  'attempt_failed',
  'retry_scheduled',
  'dead_lettered',
  'stored',
  'broadcast',
]

/** One step in a message's life. */
export interface Stage {
  stage: StageName
  at: string
  detail?: string
}

/** The answer of GET /api/messages/{event_id}/. */
export interface MessageTimeline {
  message: Message
  event: StoredEvent | null
  stages: Stage[]
}

/** Filters of the event explorer (GET /api/events/ and its export). */
export interface ExplorerFilter {
  user_id?: string
  event_type?: string
  element_id?: string
  session_id?: string
  /** RFC 3339. */
  from?: string
  to?: string
  q?: string
}

/** The answer of GET /api/events/. */
export interface EventsPage {
  events: StoredEvent[]
  next_cursor: string | null
}
