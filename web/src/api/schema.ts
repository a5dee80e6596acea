// One zod schema per payload of the Pulse HTTP and WebSocket API; the types
// the app uses are inferred from them. They mirror the Go JSON in
// internal/event, internal/live, internal/ops and internal/api (docs/api.md)
// field for field: change both together. test/contract records what the Go
// handlers really write into ./contract, and schema.contract.test.ts parses
// every recorded answer with its schema.
//
// Objects are strict: a member the schema does not name is refused, so a
// field added on the Go side fails the contract test until the schema
// follows. Go encodes a nil slice as null: list() reads null (or a missing
// member) as an empty list, so components never see it.

import { z } from 'zod'

// No JIT: zod would otherwise probe `new Function`, which the server's
// Content-Security-Policy (no 'unsafe-eval') reports as a violation in the
// console even though zod catches it; the interpreted parsers are fast
// enough for our payloads.
z.config({ jitless: true })

const str = z.string()
const num = z.number() // zod 4: finite only (NaN and ±Infinity are refused)
const int = z.number().int()
const time = z.string() // RFC 3339
const timeOrNull = time.nullable()

/** A list that Go may write as null (a nil slice): null and absent become []. */
function list<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((v): z.output<T>[] => v ?? [])
}

// ---- Shared shapes (internal/event) ----

export const sourceSchema = z.enum(['api', 'kafka', 'producer', 'collect'])
/** Where a message entered Pulse. */
export type Source = z.infer<typeof sourceSchema>
export const SOURCES: readonly Source[] = sourceSchema.options

export const statusSchema = z.enum(['queued', 'processing', 'retrying', 'completed', 'failed', 'dead_lettered'])
/** The state of a message in the processing log. */
export type Status = z.infer<typeof statusSchema>
export const STATUSES: readonly Status[] = statusSchema.options

export const isSource = (v: unknown): v is Source => sourceSchema.safeParse(v).success
export const isStatus = (v: unknown): v is Status => statusSchema.safeParse(v).success

const eventFields = {
  event_id: str,
  user_id: str,
  event_type: str,
  element_id: str,
  timestamp: time,
  session_id: str.optional(),
  page: str.optional(),
  message: str.optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  delay_seconds: num.optional(),
  should_fail: z.boolean().optional(),
  /** The source (site or app) of an event that came through the collector. */
  source_id: str.optional(),
  /** The browser's first-party id of a tracked event. */
  anonymous_id: str.optional(),
}

/** A tracked user action (event.Event). */
export const eventSchema = z.strictObject(eventFields)
export type Event = z.infer<typeof eventSchema>

/** An event as stored (event.Stored). */
export const storedEventSchema = z.strictObject({
  ...eventFields,
  id: num,
  source: sourceSchema,
  partition: num,
  offset: num,
  created_at: time,
})
export type StoredEvent = z.infer<typeof storedEventSchema>

/** A failed processing attempt (event.Attempt). */
export const attemptSchema = z.strictObject({
  n: num,
  started_at: time,
  ended_at: time,
  error: str,
  consumer_id: str.optional(),
  next_retry_at: time.optional(),
})
export type Attempt = z.infer<typeof attemptSchema>

/** The processing-log record of one Kafka record (event.Message). */
export const messageSchema = z.strictObject({
  /** 0 while in flight (not stored yet). */
  id: num,
  event_id: str,
  event_type: str,
  user_id: str,
  element_id: str,
  status: statusSchema,
  source: sourceSchema,
  consumer_id: str,
  topic: str,
  partition: num,
  offset: num,
  request_id: str.optional(),
  queued_at: time,
  started_at: timeOrNull,
  completed_at: timeOrNull,
  duration_ms: num,
  retries: num,
  next_retry_at: time.optional(),
  error: str.optional(),
  fetched_at: time.optional(),
  attempts: z.array(attemptSchema).optional(),
  /** "<dlq topic>/<partition>/<offset>" when this is a replayed dead letter. */
  replay_of: str.optional(),
  /** Set while in flight when the pipeline derived event_id from the record itself. */
  id_derived: z.boolean().optional(),
  /**
   * Set while queued behind an earlier record of the same Kafka key that has
   * not finished (delayed, retrying, dead-lettering): per-key order holds it.
   */
  waiting_behind: z
    .strictObject({ key: str, event_id: str, event_type: str, element_id: str, position: num })
    .optional(),
  stored_at: time.optional(),
})
export type Message = z.infer<typeof messageSchema>

/** Processing-log counters (GET /api/queue/stats/, Stats.queue). */
export const queueStatsSchema = z.strictObject({
  total: num,
  queued: num,
  processing: num,
  retrying: num,
  completed: num,
  failed: num,
  dead_lettered: num,
  avg_processing_time_ms: num,
})
export type QueueStats = z.infer<typeof queueStatsSchema>

/** Dashboard statistics (live.StatsJSON). */
export const statsSchema = z.strictObject({
  total_events: num,
  event_types: z.record(z.string(), num),
  /** Top 10 clicked (button_click) elements. */
  top_elements: z.array(z.strictObject({ element_id: str, count: num })),
  queue: queueStatsSchema,
  /** Stored events per second over the last 10 s. */
  events_per_second: num,
  /** Events stored in the last 5 minutes. */
  recent_5min: num,
})
export type Stats = z.infer<typeof statsSchema>

export const markerKindSchema = z.enum([
  'rebalance',
  'commit_stall',
  'dlq_burst',
  'alert_firing',
  'alert_resolved',
  'rewind',
])
export type MarkerKind = z.infer<typeof markerKindSchema>
export const MARKER_KINDS: readonly MarkerKind[] = markerKindSchema.options

/** A notable moment drawn on the charts (event.Marker). */
export const markerSchema = z.strictObject({ t: time, kind: markerKindSchema, detail: str })
export type Marker = z.infer<typeof markerSchema>

// ---- HTTP (docs/api.md, "HTTP") ----

/** The body of POST /api/events/create/: event_id and timestamp are optional. */
export type EventInput = Omit<Event, 'event_id' | 'timestamp'> & {
  event_id?: string
  timestamp?: string
}

/** The 201 answer of POST /api/events/create/. */
export const createEventResponseSchema = z.strictObject({
  status: z.literal('accepted'),
  event_id: str,
  topic: str,
  partition: num,
  offset: num,
  request_id: str,
})
export type CreateEventResponse = z.infer<typeof createEventResponseSchema>

/** The answer of GET /api/events/latest/. */
export const latestEventsSchema = z.strictObject({ events: list(storedEventSchema), stats: statsSchema })
export type LatestEvents = z.infer<typeof latestEventsSchema>

/** The answer of GET /api/queue/messages/. */
export const queueMessagesSchema = z.strictObject({ messages: z.array(messageSchema), count: num })
export type QueueMessagesResponse = z.infer<typeof queueMessagesSchema>

const componentHealth = { status: str, error: str.optional() }

/** The answer of GET /api/health/ (200 healthy, 503 unhealthy). */
export const healthSchema = z.strictObject({
  status: z.enum(['healthy', 'unhealthy']),
  timestamp: time,
  components: z.strictObject({
    database: z.strictObject({ ...componentHealth, event_count: num, queue_count: num }),
    kafka: z.strictObject({ ...componentHealth, bootstrap_servers: str, topic: str }),
    consumers: z.strictObject({ ...componentHealth, members: num }),
  }),
})
export type Health = z.infer<typeof healthSchema>

/** One member of the consumer group (GET /api/consumer_metrics/). */
export const consumerStatsSchema = z.strictObject({
  consumer_id: str,
  partitions: list(num),
  processed: num,
  failed: num,
  retried: num,
  dead_lettered: num,
  avg_processing_time_ms: num,
  in_flight: num,
  last_commit_at: timeOrNull,
})
export type ConsumerStats = z.infer<typeof consumerStatsSchema>

/** The group's position on one partition. */
export const partitionLagSchema = z.strictObject({
  partition: num,
  committed_offset: num,
  end_offset: num,
  lag: num,
})
export type PartitionLag = z.infer<typeof partitionLagSchema>

/** The answer of GET /api/consumer_metrics/. */
export const consumerMetricsSchema = z.strictObject({
  group: str,
  topic: str,
  consumers: list(consumerStatsSchema),
  partitions: list(partitionLagSchema),
  total_lag: num,
})
export type ConsumerMetrics = z.infer<typeof consumerMetricsSchema>

// ---- Operator console (docs/api.md, "Operator console") ----

/** From the owning member when it runs in this process; absent or null: unknown. */
const lowestUnfinished = num.nullish().transform((v) => v ?? null)

/** The group's position on one partition, with lag in records and seconds. */
export const partitionViewSchema = z.strictObject({
  partition: num,
  /** Client id of the owner, "" if none. */
  member: str,
  /** -1: nothing committed. */
  committed_offset: num,
  end_offset: num,
  lag: num,
  /** Age of the oldest unprocessed record (0 when lag is 0). */
  lag_seconds: num,
  lowest_unfinished: lowestUnfinished,
})
export type PartitionView = z.infer<typeof partitionViewSchema>

/** One member of the consumer group; counters only when it runs in this process. */
export const memberViewSchema = z.strictObject({
  member_id: str,
  client_id: str,
  host: str,
  partitions: list(num),
  local: z.boolean(),
  processed: num.optional(),
  dead_lettered: num.optional(),
  retried: num.optional(),
  in_flight: num.optional(),
  last_commit_at: timeOrNull.optional(),
})
export type MemberView = z.infer<typeof memberViewSchema>

/** The answer of GET /api/consumers/. */
export const consumersViewSchema = z.strictObject({
  group: str,
  topic: str,
  /** "Stable", "PreparingRebalance", "Empty", "Dead"... */
  state: str,
  members: list(memberViewSchema),
  partitions: list(partitionViewSchema),
  total_lag: num,
  max_lag_seconds: num,
  /** Now minus created_at of the newest stored event. */
  freshness_seconds: num,
  sampled_at: time,
})
export type ConsumersView = z.infer<typeof consumersViewSchema>

/** One sample of the lag history. */
export const historyPointSchema = z.strictObject({
  t: time,
  total_lag: num,
  max_lag_seconds: num,
  events_per_second: num,
})
export type HistoryPoint = z.infer<typeof historyPointSchema>

/** The ranges the charts offer (series.Ranges on the server), shortest first. */
export const RANGES = ['15m', '1h', '6h', '24h', '7d'] as const
export type Range = (typeof RANGES)[number]
export const rangeSchema = z.enum(RANGES)
export const isRange = (v: unknown): v is Range => rangeSchema.safeParse(v).success

/**
 * The answer of GET /api/consumers/history/?range=: the highest lag of each
 * step with samples, read from the store (kept across restarts).
 */
export const consumersHistorySchema = z.strictObject({
  range: rangeSchema,
  /** How often the lag is sampled. */
  interval_seconds: num,
  /** The spacing of the points. */
  step_seconds: num,
  from: time,
  to: time,
  points: list(historyPointSchema),
  markers: list(markerSchema),
})
export type ConsumersHistory = z.infer<typeof consumersHistorySchema>

/**
 * The answer of GET /api/series/?range=: per step (times are the steps'
 * starts, Unix seconds), the events stored by type and the latency
 * percentiles of those events (event time to stored time), up to the last
 * complete step.
 */
export const seriesSchema = z.strictObject({
  range: rangeSchema,
  step_seconds: num,
  from: time,
  to: time,
  times: list(num),
  events: z.record(z.string(), list(num)),
  latency_ms: z.strictObject({
    p50: list(num.nullable()),
    p95: list(num.nullable()),
    p99: list(num.nullable()),
    samples: list(num),
  }),
})
export type Series = z.infer<typeof seriesSchema>

/** A key held back by the ordering guarantee. */
export const heldKeySchema = z.strictObject({
  key: str,
  partition: num,
  offset: num,
  event_id: str,
  status: statusSchema,
  /** Records queued behind it. */
  waiting: num,
  consumer_id: str,
})
export type HeldKey = z.infer<typeof heldKeySchema>

/** A partition's progress as the ordering view reports it. */
export const orderingPartitionSchema = z.strictObject({
  partition: num,
  consumer_id: str,
  lowest_unfinished: lowestUnfinished,
  committed: num,
})
export type OrderingPartition = z.infer<typeof orderingPartitionSchema>

/** The answer of GET /api/ordering/. */
export const orderingViewSchema = z.strictObject({
  held_keys: list(heldKeySchema),
  held_keys_total: num,
  partitions: list(orderingPartitionSchema),
})
export type OrderingView = z.infer<typeof orderingViewSchema>

/** A record of the dead-letter topic. */
export const dlqRecordSchema = z.strictObject({
  /** "<partition>:<offset>" in the DLQ topic. */
  id: str,
  partition: num,
  offset: num,
  timestamp: time,
  key: str,
  original_topic: str,
  original_partition: num,
  original_offset: num,
  error: str,
  /** The error with specifics removed, e.g. "simulated failure". */
  kind: str,
  attempts: num,
  consumer_id: str,
  failed_at: time,
  /** "" when the payload has none or is not JSON. */
  event_id: str,
  /** The record value as text, truncated to 16 KiB. */
  payload: str,
  /** Replayed already, by any server (the replay log is in the database). */
  replayed: z.boolean(),
  /** When first replayed; null when never. */
  replayed_at: timeOrNull,
})
export type DLQRecord = z.infer<typeof dlqRecordSchema>

/** DLQ records sharing an error kind. */
export const dlqGroupSchema = z.strictObject({ kind: str, count: num, records: list(dlqRecordSchema) })
export type DLQGroup = z.infer<typeof dlqGroupSchema>

/** The answer of GET /api/dlq/. */
export const dlqViewSchema = z.strictObject({ total: num, groups: list(dlqGroupSchema) })
export type DLQView = z.infer<typeof dlqViewSchema>

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
  /** With kind or all: replay the dead letters replayed before too (they are skipped otherwise). */
  include_replayed?: boolean
}

/** The answer of POST /api/dlq/replay/. */
export const replayResultSchema = z.strictObject({
  dry_run: z.boolean(),
  count: num,
  /** Dead letters of the kind (or all) left out because they were replayed before. */
  skipped_replayed: num,
  records: list(z.strictObject({ id: str, event_id: str, original_offset: num })),
})
export type ReplayResult = z.infer<typeof replayResultSchema>

/** The body of POST /api/consumers/rewind/. */
export type RewindInput = {
  /** An RFC 3339 time, "earliest", "latest", "offset:N" or "offset:P=N,P=N". */
  to: string
  /** The partitions to move; all when absent. */
  partitions?: number[]
  dry_run: boolean
}

/** One partition of a rewind (kafka.RewindPartition). */
export const rewindPartitionSchema = z.strictObject({
  partition: num,
  /** -1 when the group committed nothing there. */
  committed_offset: num,
  current_offset: num,
  target_offset: num,
  start_offset: num,
  end_offset: num,
  /** Records to process again. */
  records: num,
  /** Records the group will not process (a target ahead). */
  skipped: num,
  keys: num,
  /** The key count stopped at the scan bound: at least keys. */
  keys_lower_bound: z.boolean(),
  member: str.optional(),
})
export type RewindPartition = z.infer<typeof rewindPartitionSchema>

/** The answer of POST /api/consumers/rewind/ (kafka.RewindPlan). */
export const rewindPlanSchema = z.strictObject({
  group: str,
  topic: str,
  to: str,
  dry_run: z.boolean(),
  state: str,
  members: num,
  partitions: list(rewindPartitionSchema),
  records: num,
  skipped: num,
  keys: num,
  keys_lower_bound: z.boolean(),
  applied: z.boolean(),
  applied_at: time.optional(),
  method: z.enum(['commit', 'members']).optional(),
})
export type RewindPlan = z.infer<typeof rewindPlanSchema>

export const loadStatusSchema = z.enum(['running', 'completed', 'stopped', 'failed'])
export type LoadStatus = z.infer<typeof loadStatusSchema>

/** A generated load run (POST, GET and DELETE /api/load/). */
export const loadRunSchema = z.strictObject({
  id: str,
  status: loadStatusSchema,
  started_at: time,
  /** When the run is planned to end: started_at plus its duration. */
  ends_at: time,
  /** When it ended (completed, failed, or the moment it was stopped); absent while it runs. */
  ended_at: time.optional(),
  events_per_second: num,
  duration_seconds: num,
  failure_rate: num,
  delay_rate: num,
  mix: z
    .record(z.string(), num)
    .nullable()
    .transform((v) => v ?? {}),
  /** Events the run will send in all. */
  target: num,
  sent: num,
  acked: num,
  failed: num,
  /** 0..1. */
  progress: num,
  /** Acked events/s over the last second. */
  current_rate: num,
  /** The first send that failed; sends cancelled by a stop are not failures. */
  error: str.optional(),
})
export type LoadRun = z.infer<typeof loadRunSchema>

/** The answer of GET /api/load/runs/: the last runs, newest first (kept in memory by the server). */
export const loadRunsSchema = z.strictObject({ runs: list(loadRunSchema) })
export type LoadRuns = z.infer<typeof loadRunsSchema>

/** The answer of GET /api/load/: a run, or idle when none ever ran. */
export const loadStateSchema = z.discriminatedUnion('status', [
  loadRunSchema,
  z.strictObject({ status: z.literal('idle') }),
])
export type LoadState = z.infer<typeof loadStateSchema>

/** The body of POST /api/load/. */
export interface LoadRequest {
  events_per_second: number
  duration_seconds: number
  failure_rate?: number
  delay_rate?: number
  mix?: Record<string, number>
}

export const stageNameSchema = z.enum([
  'produced',
  'fetched',
  'started',
  'attempt_failed',
  'retry_scheduled',
  'dead_lettered',
  'stored',
  'broadcast',
  'reprocessed',
])
export type StageName = z.infer<typeof stageNameSchema>
export const STAGE_NAMES: readonly StageName[] = stageNameSchema.options

/** One step in a message's life. */
export const stageSchema = z.strictObject({ stage: stageNameSchema, at: time, detail: str.optional() })
export type Stage = z.infer<typeof stageSchema>

/** The answer of GET /api/messages/{event_id}/. */
export const messageTimelineSchema = z.strictObject({
  message: messageSchema,
  event: storedEventSchema.nullish().transform((v) => v ?? null),
  stages: list(stageSchema),
})
export type MessageTimeline = z.infer<typeof messageTimelineSchema>

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

/** The answer of GET /api/events/: an empty or absent cursor means the end. */
export const eventsPageSchema = z.strictObject({
  events: list(storedEventSchema),
  next_cursor: str.nullish().transform((v) => (v === '' || v === undefined ? null : v)),
})
export type EventsPage = z.infer<typeof eventsPageSchema>

// ---- WebSocket /ws/events/ ----

/** A frame the server sends: a union discriminated on `type`. */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('initial_data'),
    events: z.array(storedEventSchema),
    stats: statsSchema,
    messages: z.array(messageSchema),
  }),
  z.strictObject({ type: z.literal('new_event'), event: storedEventSchema }),
  z.strictObject({
    type: z.literal('new_events'),
    events: z.array(storedEventSchema),
    dropped: int.nonnegative(),
  }),
  z.strictObject({ type: z.literal('stats_update'), stats: statsSchema }),
  z.strictObject({ type: z.literal('queue_update'), messages: z.array(messageSchema) }),
  z.strictObject({ type: z.literal('marker'), marker: markerSchema }),
])
export type ServerMessage = z.infer<typeof serverMessageSchema>

/** A frame the client sends. */
export type ClientMessage = { type: 'get_stats' }

// ---- Checking ----

/** Describes why a payload failed its schema: the path of each bad field and what is wrong. */
export function describeIssues(err: z.ZodError, max = 3): string {
  const parts = err.issues.slice(0, max).map((i) => `${formatPath(i.path)}: ${i.message}`)
  const more = err.issues.length - max
  return parts.join('; ') + (more > 0 ? ` (and ${more} more)` : '')
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out === '' ? String(p) : `.${String(p)}`
  }
  return out === '' ? '(the whole payload)' : out
}

// ---- Sources, the collector and the delivery ledger (internal/api/sources.go, docs/tracker.md) ----

/** A site or app sending with pulse.js (store.Source). */
/** How the collector holds a source's events to the tracking plan. */
export const planModeSchema = z.enum(['off', 'warn', 'strict'])
export type PlanMode = z.infer<typeof planModeSchema>

export const trackingSourceSchema = z.strictObject({
  id: str,
  name: str,
  write_key: str,
  origins: list(str),
  settings: z.strictObject({
    respect_dnt: z.boolean(),
    plan: planModeSchema.optional(),
    store_ip: z.boolean().optional(),
    // A duration as "30d" or "36h0m0s"; absent: the server-wide retention only.
    retention: str.optional(),
  }),
  created_at: time,
  revoked_at: timeOrNull,
})
export type TrackingSource = z.infer<typeof trackingSourceSchema>

/** GET /api/sources/. */
export const sourcesViewSchema = z.strictObject({
  sources: list(trackingSourceSchema),
  tracker: z.strictObject({ url_path: str, integrity: str }),
})
export type SourcesView = z.infer<typeof sourcesViewSchema>

/** POST /api/sources/ and DELETE /api/sources/{id}/. */
export const sourceResultSchema = z.strictObject({ source: trackingSourceSchema })

/** The answer of POST /api/collect. */
export const collectResultSchema = z.strictObject({
  error: str.optional(),
  accepted: int,
  rejected: list(z.strictObject({ index: int, field: str, error: str })),
  dnt_dropped: int.optional(),
})

const ledgerCounts = {
  source_id: str,
  numbered: int,
  received: int,
  rejected: int,
  dnt_dropped: int,
  stored: int,
  sequenced: int,
  duplicates: int,
  dropped_client: int,
  late: int,
  skew_corrected: int,
  gaps: int,
}
/** One source's ledger counts in a step (t) or over the range (no t). */
export const ledgerPointSchema = z.strictObject({ t: time.optional(), ...ledgerCounts })
export type LedgerPoint = z.infer<typeof ledgerPointSchema>

/** GET /api/ledger/. */
export const ledgerViewSchema = z.strictObject({
  range: str,
  step_seconds: int,
  from: time,
  to: time,
  points: list(ledgerPointSchema),
  totals: list(ledgerPointSchema),
})
export type LedgerView = z.infer<typeof ledgerViewSchema>

// ---- Insights (internal/insights, docs/insights.md) ----

export const TREND_INTERVALS = ['minute', 'hour', 'day', 'week'] as const
export type TrendInterval = (typeof TREND_INTERVALS)[number]
export const TREND_BREAKDOWNS = ['event_type', 'page', 'element_id', 'source_id'] as const
export type TrendBreakdown = (typeof TREND_BREAKDOWNS)[number]
export const TREND_RANGES = ['30m', '1h', '24h', '7d', '30d'] as const
export type TrendRange = (typeof TREND_RANGES)[number]
/** What a trend counts: stored events, or distinct users or sessions. */
export const TREND_MEASURES = ['count', 'users', 'sessions'] as const
export type TrendMeasure = (typeof TREND_MEASURES)[number]
/** A breakdown by a property, as properties.plan. */
export const propertyFieldSchema = z.string().regex(/^properties\.[A-Za-z0-9_-]{1,64}$/)

/** One line of a trend: an event type, a breakdown's value, or (other). */
export const trendSeriesSchema = z.strictObject({
  key: str,
  other: z.boolean().optional(),
  total: int,
  counts: list(int),
})
export type TrendSeries = z.infer<typeof trendSeriesSchema>

/** A trend over one range: Series[i].counts[j] is in buckets[j]. */
export const trendPeriodSchema = z.strictObject({
  from: time,
  to: time,
  buckets: list(time),
  series: list(trendSeriesSchema),
  total: int,
})
export type TrendPeriod = z.infer<typeof trendPeriodSchema>

/** GET /api/insights/trend/. */
export const trendSchema = z.strictObject({
  interval: z.enum(TREND_INTERVALS),
  breakdown: z.union([z.literal(''), z.enum(TREND_BREAKDOWNS), propertyFieldSchema]),
  measure: z.enum(TREND_MEASURES),
  /** False for users or sessions from the HyperLogLog sketches: within about 1%. */
  exact: z.boolean(),
  current: trendPeriodSchema,
  previous: trendPeriodSchema.nullable(),
})
export type Trend = z.infer<typeof trendSchema>

/** One event type of the tracking plan: a JSON Schema its properties must match. */
export const planEntrySchema = z.strictObject({
  event_type: str,
  description: str,
  schema: z.unknown(),
  updated_at: time,
})
export type PlanEntry = z.infer<typeof planEntrySchema>

/** GET /api/plan/ and PUT /api/plan/. */
export const planViewSchema = z.strictObject({ entries: list(planEntrySchema) })
export type PlanView = z.infer<typeof planViewSchema>

/** PUT /api/plan/types/{event_type}/. */
export const planEntryResultSchema = z.strictObject({ entry: planEntrySchema })

/** DELETE /api/plan/types/{event_type}/. */
export const planDeletedSchema = z.strictObject({ deleted: str })

/** Events of a source that broke the plan one way (an unknown type, or one keyword of its schema). */
export const planWarningSchema = z.strictObject({
  source_id: str,
  event_type: str,
  problem: str,
  field: str,
  reason: str,
  warned: int,
  rejected: int,
  example: z.unknown(),
  first_at: time,
  last_at: time,
})
export type PlanWarning = z.infer<typeof planWarningSchema>

/** GET /api/plan/warnings/. */
export const planWarningsViewSchema = z.strictObject({
  range: str,
  from: time,
  to: time,
  warnings: list(planWarningSchema),
})
export type PlanWarningsView = z.infer<typeof planWarningsViewSchema>

// ---- Funnels and retention (internal/insights/funnel.go, retention.go) ----

/** The operators of a funnel step's filter. */
export const FILTER_OPS = ['equals', 'not_equals', 'contains', 'in', 'is_set'] as const
export type FilterOp = (typeof FILTER_OPS)[number]
/** The fields a filter or a funnel breakdown reads, besides properties.<key>. */
export const EVENT_FIELDS = ['page', 'element_id', 'source_id', 'session_id'] as const
export type EventField = (typeof EVENT_FIELDS)[number]
/** The prefix of a property field: properties.plan. */
export const PROPERTY_PREFIX = 'properties.'

/** Keeps the events whose field matches (insights.Filter): value for equals, not_equals and contains, values for in. */
export const funnelFilterSchema = z.strictObject({
  field: str,
  op: z.enum(FILTER_OPS),
  value: str.optional(),
  values: z.array(str).optional(),
})
export type FunnelFilter = z.infer<typeof funnelFilterSchema>

/** What became of one step (insights.FunnelStepResult). */
export const funnelStepSchema = z.strictObject({
  event_type: str,
  filters: list(funnelFilterSchema),
  /** The users who reached the step. */
  count: int,
  /** Count over the first step's; 0 when that is 0. */
  conversion: num,
  /** Count over the previous step's; 0 when that is 0. */
  step_conversion: num,
  /** The users who reached the previous step but not this one. */
  dropped: int,
  /** From the previous step to this one, among the users who reached it; null on the first step or when none. */
  median_seconds: num.nullable(),
  /** Up to dropped_users_limit of the dropped users, by id. */
  dropped_users: list(str),
})
export type FunnelStep = z.infer<typeof funnelStepSchema>

/** The step counts of the users whose first step had one value of the breakdown field. */
export const funnelBreakdownSchema = z.strictObject({
  value: str,
  other: z.boolean().optional(),
  steps: z.array(z.strictObject({ count: int })),
})
export type FunnelBreakdown = z.infer<typeof funnelBreakdownSchema>

/** POST /api/insights/funnel/. */
export const funnelSchema = z.strictObject({
  from: time,
  to: time,
  window_seconds: int,
  steps: z.array(funnelStepSchema),
  dropped_users_limit: int,
  /** Absent when no breakdown was asked. */
  breakdown: z.array(funnelBreakdownSchema).optional(),
})
export type Funnel = z.infer<typeof funnelSchema>

export const RETENTION_PERIODS = ['day', 'week'] as const
export type RetentionPeriod = (typeof RETENTION_PERIODS)[number]

/** The users first seen in one period, and how many came back in each later one. */
export const cohortSchema = z.strictObject({
  start: time,
  users: int,
  /** returned[k]: the cohort's users active k periods after its own (k = 0 is its own period); as long as the periods that have started. */
  returned: list(int),
})
export type Cohort = z.infer<typeof cohortSchema>

/** GET /api/insights/retention/. */
export const retentionSchema = z.strictObject({
  period: z.enum(RETENTION_PERIODS),
  from: time,
  to: time,
  /** The event type that counts as coming back; "" is any. */
  return_event: str,
  cohorts: list(cohortSchema),
})
export type Retention = z.infer<typeof retentionSchema>

/** A page or an element of the live panel and its events. */
export const liveCountSchema = z.strictObject({ key: str, events: int })

/** GET /api/insights/live/: who is on the site now. */
export const liveSchema = z.strictObject({
  now: time,
  users_5m: int,
  users_30m: int,
  sessions_5m: int,
  sessions_30m: int,
  events_5m: int,
  events_30m: int,
  minutes: list(z.strictObject({ start: time, events: int, users: int })),
  top_pages: list(liveCountSchema),
  top_elements: list(liveCountSchema),
})
export type Live = z.infer<typeof liveSchema>

/** The pages an insight is saved from. */
export const INSIGHT_KINDS = ['trend', 'funnel', 'retention'] as const
export type InsightKind = (typeof INSIGHT_KINDS)[number]

/** A saved insight: a page's URL parameters under a name, pinned to the dashboard or not. */
export const savedInsightSchema = z.strictObject({
  id: str,
  name: str,
  kind: z.enum(INSIGHT_KINDS),
  query: str,
  pinned: z.boolean(),
  created_at: time,
  updated_at: time,
})
export type SavedInsight = z.infer<typeof savedInsightSchema>

/** GET /api/insights/saved/. */
export const savedInsightsSchema = z.strictObject({ insights: list(savedInsightSchema) })

/** POST /api/insights/saved/ and PATCH /api/insights/saved/{id}/. */
export const savedInsightResultSchema = z.strictObject({ insight: savedInsightSchema })

/** A property key kept in the rollups: a breakdown by it reads them once it is ready. */
export const rollupKeySchema = z.strictObject({
  key: str,
  added_at: time,
  /** Every stored event is counted: breakdowns by the key read the rollups. */
  ready: z.boolean(),
  /** The share, 0 to 1, of the events stored before the key was added that are counted. */
  filled: num,
})
export type RollupKey = z.infer<typeof rollupKeySchema>

/** GET /api/insights/rollup-keys/. */
export const rollupKeysSchema = z.strictObject({ keys: list(rollupKeySchema), max: int })
export type RollupKeys = z.infer<typeof rollupKeysSchema>

/** POST /api/insights/rollup-keys/. */
export const rollupKeyResultSchema = z.strictObject({ key: rollupKeySchema })

/** One session of a user's page: the events of one session_id among the user's latest. */
export const userSessionSchema = z.strictObject({
  session_id: str,
  /** The earliest and latest event times of the session's events read. */
  start: time,
  end: time,
  events: int,
  /** Distinct pages in the order of their first event, at most 10. */
  pages: list(str),
  /** The page of the session's earliest event that has one ("" when none does). */
  first_page: str,
})
export type UserSession = z.infer<typeof userSessionSchema>

/** GET /api/users/{user_id}/: a user's page. */
export const userProfileSchema = z.strictObject({
  user_id: str,
  /** The user's earliest event ever stored (kept after retention). */
  first_seen: time,
  /** The latest event time read, at least the start of the last active day; null when no event is stored any more. */
  last_seen: timeOrNull,
  /** Set when last_seen is the start of the last active UTC day, later than every event read: the day is known, not the time. */
  last_seen_day: z.boolean(),
  /** The first day (YYYY-MM-DD, UTC) events, event_types and days count. */
  counted_from: str,
  events: int,
  event_types: z.record(str, int),
  /** The last 90 UTC days, oldest first, today last, 0 on days without events. */
  days: list(z.strictObject({ day: str, events: int })),
  /** Newest first, at most 100. */
  sessions: list(userSessionSchema),
  /** How many of the user's latest events (at most 1,000) the sessions come from. */
  sessions_from_events: int,
})
export type UserProfile = z.infer<typeof userProfileSchema>

// ---- Accounts (internal/store/accounts.go, docs/accounts.md) ----

export const ROLES = ['viewer', 'operator', 'admin'] as const
export const roleSchema = z.enum(ROLES)
/** What an account or a token may do; each role can do what the ones before it can. */
export type Role = z.infer<typeof roleSchema>

/** Someone who signs in to Pulse (store.Account); the password is never sent. */
export const accountSchema = z.strictObject({
  id: str,
  /** Lowercased by the server. */
  email: str,
  role: roleSchema,
  created_at: time,
  updated_at: time,
  last_sign_in_at: timeOrNull,
})
export type Account = z.infer<typeof accountSchema>

/**
 * How the request was let in: open (a loopback server with no accounts yet,
 * which needs no sign-in), a session cookie, an API token, or the server's
 * admin token.
 */
export const authKindSchema = z.enum(['open', 'session', 'token', 'admin_token'])
export type AuthKind = z.infer<typeof authKindSchema>

/** GET /api/auth/me/ and the 200 of POST /api/auth/login/: who is asking. */
export const whoamiSchema = z.strictObject({
  kind: authKindSchema,
  role: roleSchema,
  /** The signed-in account; null when let in without one (open, a token). */
  account: accountSchema.nullable(),
  /** Sent back as X-CSRF-Token with every unsafe request made with the session cookie. */
  csrf_token: str,
})
export type Whoami = z.infer<typeof whoamiSchema>

/** GET /api/accounts/. */
export const accountsSchema = z.strictObject({ accounts: list(accountSchema) })

/** POST /api/accounts/ (201) and PATCH /api/accounts/{id}/. */
export const accountResultSchema = z.strictObject({ account: accountSchema })

/** A credential for scripts and CI (store.APIToken); its secret is shown once, when made. */
export const apiTokenSchema = z.strictObject({
  id: str,
  name: str,
  role: roleSchema,
  /** The account that made it; "" when the CLI made it. */
  account_id: str,
  created_at: time,
  expires_at: timeOrNull,
  last_used_at: timeOrNull,
  revoked_at: timeOrNull,
})
export type APIToken = z.infer<typeof apiTokenSchema>

/** GET /api/tokens/: revoked ones too, oldest first. */
export const tokensSchema = z.strictObject({ tokens: list(apiTokenSchema) })

/** The 201 of POST /api/tokens/: the token and its secret, which is never shown again. */
export const tokenCreatedSchema = z.strictObject({ token: apiTokenSchema, secret: str })
export type TokenCreated = z.infer<typeof tokenCreatedSchema>

/** DELETE /api/tokens/{id}/: the revoked token. */
export const tokenResultSchema = z.strictObject({ token: apiTokenSchema })

/** One entry of the audit log (store.AuditEntry): who did what, when, from where, and how it ended. */
export const auditEntrySchema = z.strictObject({
  id: int,
  at: time,
  actor: str,
  account_id: str,
  client_ip: str,
  /** The route, as "POST /api/dlq/replay/", or the command, as "pulse users add". */
  action: str,
  target: str,
  outcome: z.enum(['ok', 'refused', 'failed']),
  status: int,
  /** A summary, or the reason the client was told. */
  detail: str,
  request_id: str,
})
export type AuditEntry = z.infer<typeof auditEntrySchema>

/** GET /api/audit/: a page, newest first, and the id the next one starts before. */
export const auditPageSchema = z.strictObject({ entries: list(auditEntrySchema), next_before: int.nullable() })
export type AuditPage = z.infer<typeof auditPageSchema>

/** GET /api/auth/providers/: the ways to sign in this server offers. */
export const providersSchema = z.strictObject({
  password: z.boolean(),
  /** An OpenID Connect provider: the button's name and where it starts. */
  oidc: z.strictObject({ name: str, login_url: str }).nullable(),
})
export type Providers = z.infer<typeof providersSchema>

/**
 * GET and PUT /api/privacy/fields/: the fields declared personal (user_id,
 * session_id, anonymous_id, properties.<path>), sorted, and whether the
 * reader sees them masked (every role below admin does).
 */
export const personalFieldsSchema = z.strictObject({ fields: list(str), masked: z.boolean() })
export type PersonalFields = z.infer<typeof personalFieldsSchema>

/** One id's erasure: the SHA-256 hex of the id, the rows deleted, and whether it was erased before. */
const erasedIdSchema = z.strictObject({ user_hash: str, events: int, messages: int, already: z.boolean() })

/**
 * POST /api/privacy/erase/: what the erasure of a user deleted; already when
 * the user was erased before. linked are the anonymous ids on the user's
 * events, erased with them; events and messages count theirs too.
 */
export const eraseResultSchema = z.strictObject({
  /** The SHA-256 hex of the user id, the only trace of it the server keeps. */
  user_hash: str,
  events: int,
  messages: int,
  already: z.boolean(),
  linked: list(erasedIdSchema),
})
export type EraseResult = z.infer<typeof eraseResultSchema>

/** An erased user on the suppression list: their records are dead-lettered if they come again. */
export const erasedUserSchema = z.strictObject({
  user_hash: str,
  erased_at: time,
  /** Who erased them (an email, a token's name). */
  erased_by: str,
  events: int,
  messages: int,
})
export type ErasedUser = z.infer<typeof erasedUserSchema>

/** GET /api/privacy/erased/: a page, newest first, and the time the next one starts before. */
export const erasedPageSchema = z.strictObject({ erased: list(erasedUserSchema), next_before: timeOrNull })
export type ErasedPage = z.infer<typeof erasedPageSchema>

// ---- Alerts (internal/alerts, internal/api/alerts.go) ----

export const alertSignalSchema = z.enum([
  'lag_seconds',
  'consumers',
  'dlq_rate',
  'error_rate',
  'ingest_vs_last_week',
  'event_count',
])
export type AlertSignal = z.infer<typeof alertSignalSchema>
export const ALERT_SIGNALS: readonly AlertSignal[] = alertSignalSchema.options

/** An alert rule with where it comes from and its state. Durations are Go's ("1m0s"). */
export const alertRuleSchema = z.strictObject({
  id: str,
  name: str,
  signal: alertSignalSchema,
  event_type: str.optional(),
  page: str.optional(),
  compare: z.enum(['value', 'previous_period']).optional(),
  window: str.optional(),
  op: z.enum(['above', 'below']),
  threshold: num,
  for: str,
  hysteresis: num,
  repeat: str,
  /** Scheme and host only, for a viewer. */
  webhook_url: str,
  webhook_format: z.enum(['json', 'slack']),
  enabled: z.boolean(),
  source: z.enum(['api', 'file']),
  state: z.enum(['ok', 'pending', 'firing']),
  since: timeOrNull,
  value: num.nullable(),
  silenced_until: timeOrNull,
  created_at: timeOrNull,
  updated_at: timeOrNull,
})
export type AlertRule = z.infer<typeof alertRuleSchema>

export const alertRulesSchema = z.strictObject({ rules: list(alertRuleSchema), signals: list(str), max: int })
export type AlertRules = z.infer<typeof alertRulesSchema>
export const alertRuleResultSchema = z.strictObject({ rule: alertRuleSchema })

export const alertDeliverySchema = z.strictObject({ at: time, status_code: int, error: str, duration_ms: num })
export type AlertDelivery = z.infer<typeof alertDeliverySchema>

/** One firing, repeat or resolution, with its notification's delivery attempts. */
export const alertEventSchema = z.strictObject({
  id: int,
  rule_id: str,
  rule_name: str,
  kind: z.enum(['firing', 'resolved', 'repeat']),
  at: time,
  value: num,
  silenced: z.boolean(),
  status: z.enum(['pending', 'delivered', 'failed', 'none']),
  url: str,
  body: str,
  attempts: int,
  next_attempt_at: timeOrNull,
  deliveries: list(alertDeliverySchema),
})
export type AlertEvent = z.infer<typeof alertEventSchema>
export const alertHistorySchema = z.strictObject({ events: list(alertEventSchema), next_before: int.nullable() })
export type AlertHistory = z.infer<typeof alertHistorySchema>
