// Shape checks for payloads arriving from the server. Everything that enters
// the app from the network passes through one of these, so components can
// trust the types in ./types.

import {
  MARKER_KINDS,
  SOURCES,
  STAGE_NAMES,
  STATUSES,
  type ConsumersHistory,
  type ConsumersView,
  type DLQGroup,
  type DLQRecord,
  type DLQView,
  type EventsPage,
  type HeldKey,
  type HistoryPoint,
  type LoadRun,
  type LoadState,
  type Marker,
  type MemberView,
  type MessageTimeline,
  type OrderingPartition,
  type OrderingView,
  type PartitionView,
  type ReplayResult,
  type Stage,
  type ConsumerMetrics,
  type ConsumerStats,
  type CreateEventResponse,
  type PartitionLag,
  type Message,
  type QueueMessagesResponse,
  type QueueStats,
  type Source,
  type Stats,
  type Status,
  type StoredEvent,
} from './types'

type Obj = Record<string, unknown>

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const optional = (v: unknown, check: (x: unknown) => boolean): boolean => v === undefined || check(v)

export function isSource(v: unknown): v is Source {
  return SOURCES.some((s) => s === v)
}

export function isStatus(v: unknown): v is Status {
  return STATUSES.some((s) => s === v)
}

export function isStoredEvent(v: unknown): v is StoredEvent {
  return (
    isObject(v) &&
    isNumber(v.id) &&
    isString(v.event_id) &&
    isString(v.user_id) &&
    isString(v.event_type) &&
    isString(v.element_id) &&
    isString(v.timestamp) &&
    isSource(v.source) &&
    isNumber(v.partition) &&
    isNumber(v.offset) &&
    isString(v.created_at) &&
    optional(v.session_id, isString) &&
    optional(v.page, isString) &&
    optional(v.message, isString) &&
    optional(v.properties, isObject) &&
    optional(v.delay_seconds, isNumber) &&
    optional(v.should_fail, (x) => typeof x === 'boolean')
  )
}

const isTimeOrNull = (v: unknown): boolean => v === null || isString(v)

export function isMessage(v: unknown): v is Message {
  return (
    isObject(v) &&
    isNumber(v.id) &&
    isString(v.event_id) &&
    isString(v.event_type) &&
    isString(v.user_id) &&
    isString(v.element_id) &&
    isStatus(v.status) &&
    isSource(v.source) &&
    isString(v.consumer_id) &&
    isString(v.topic) &&
    isNumber(v.partition) &&
    isNumber(v.offset) &&
    isString(v.queued_at) &&
    isTimeOrNull(v.started_at) &&
    isTimeOrNull(v.completed_at) &&
    isNumber(v.duration_ms) &&
    isNumber(v.retries) &&
    optional(v.request_id, isString) &&
    optional(v.next_retry_at, isString) &&
    optional(v.error, isString)
  )
}

const QUEUE_COUNTERS = [
  'total',
  'queued',
  'processing',
  'retrying',
  'completed',
  'failed',
  'dead_lettered',
  'avg_processing_time_ms',
] as const

export function isQueueStats(v: unknown): v is QueueStats {
  return isObject(v) && QUEUE_COUNTERS.every((k) => isNumber(v[k]))
}

export function isStats(v: unknown): v is Stats {
  return (
    isObject(v) &&
    isNumber(v.total_events) &&
    isObject(v.event_types) &&
    Object.values(v.event_types).every(isNumber) &&
    Array.isArray(v.top_elements) &&
    v.top_elements.every((e) => isObject(e) && isString(e.element_id) && isNumber(e.count)) &&
    isQueueStats(v.queue) &&
    isNumber(v.events_per_second) &&
    isNumber(v.recent_5min)
  )
}

export function isArrayOf<T>(v: unknown, check: (x: unknown) => x is T): v is T[] {
  return Array.isArray(v) && v.every(check)
}

export function isCreateEventResponse(v: unknown): v is CreateEventResponse {
  return isObject(v) && isString(v.event_id) && isNumber(v.partition) && isNumber(v.offset)
}

export function isQueueMessagesResponse(v: unknown): v is QueueMessagesResponse {
  return isObject(v) && isArrayOf(v.messages, isMessage)
}

// Go encodes an empty slice as null when it was never allocated: both mean
// "none" here.
const isListOf = (v: unknown, check: (x: unknown) => boolean): boolean =>
  v === null || (Array.isArray(v) && v.every(check))

function isConsumerStats(v: unknown): v is ConsumerStats {
  return (
    isObject(v) &&
    isString(v.consumer_id) &&
    isListOf(v.partitions, isNumber) &&
    ['processed', 'failed', 'retried', 'dead_lettered', 'avg_processing_time_ms', 'in_flight'].every((k) =>
      isNumber(v[k]),
    ) &&
    isTimeOrNull(v.last_commit_at)
  )
}

function isPartitionLag(v: unknown): v is PartitionLag {
  return (
    isObject(v) && isNumber(v.partition) && isNumber(v.committed_offset) && isNumber(v.end_offset) && isNumber(v.lag)
  )
}

/** Checks a consumer_metrics answer and returns it with null lists made empty. */
export function toConsumerMetrics(v: unknown): ConsumerMetrics | null {
  if (
    !isObject(v) ||
    !isString(v.group) ||
    !isString(v.topic) ||
    !isNumber(v.total_lag) ||
    !isListOf(v.consumers, isConsumerStats) ||
    !isListOf(v.partitions, isPartitionLag)
  ) {
    return null
  }
  const consumers = (Array.isArray(v.consumers) ? v.consumers : []).filter(isConsumerStats)
  const partitions = (Array.isArray(v.partitions) ? v.partitions : []).filter(isPartitionLag)
  return {
    group: v.group,
    topic: v.topic,
    total_lag: v.total_lag,
    consumers: consumers.map((c) => ({ ...c, partitions: Array.isArray(c.partitions) ? c.partitions : [] })),
    partitions,
  }
}

// ---- Operator console ----

const isNumberOrNull = (v: unknown): boolean => v === null || isNumber(v)
const isBool = (v: unknown): v is boolean => typeof v === 'boolean'

// listOf returns the valid list, [] for Go's null, or null when any element
// is malformed (the caller then rejects the whole payload).
function listOf<T>(v: unknown, check: (x: unknown) => x is T): T[] | null {
  if (v === null || v === undefined) return []
  if (!Array.isArray(v) || !v.every(check)) return null
  return v
}

export function isMarker(v: unknown): v is Marker {
  return isObject(v) && isString(v.t) && MARKER_KINDS.some((k) => k === v.kind) && isString(v.detail)
}

function isPartitionView(v: unknown): v is PartitionView {
  return (
    isObject(v) &&
    isNumber(v.partition) &&
    isString(v.member) &&
    isNumber(v.committed_offset) &&
    isNumber(v.end_offset) &&
    isNumber(v.lag) &&
    isNumber(v.lag_seconds) &&
    isNumberOrNull(v.lowest_unfinished ?? null)
  )
}

function isMemberView(v: unknown): v is MemberView {
  return (
    isObject(v) &&
    isString(v.member_id) &&
    isString(v.client_id) &&
    isString(v.host) &&
    isListOf(v.partitions, isNumber) &&
    isBool(v.local) &&
    ['processed', 'dead_lettered', 'retried', 'in_flight'].every((k) => optional(v[k], isNumber)) &&
    optional(v.last_commit_at, isTimeOrNull)
  )
}

/** Checks a GET /api/consumers/ answer; null lists become empty. */
export function toConsumersView(v: unknown): ConsumersView | null {
  if (
    !isObject(v) ||
    !isString(v.group) ||
    !isString(v.topic) ||
    !isString(v.state) ||
    !isNumber(v.total_lag) ||
    !isNumber(v.max_lag_seconds) ||
    !isNumber(v.freshness_seconds) ||
    !isString(v.sampled_at)
  ) {
    return null
  }
  const members = listOf(v.members, isMemberView)
  const partitions = listOf(v.partitions, isPartitionView)
  if (members === null || partitions === null) return null
  return {
    group: v.group,
    topic: v.topic,
    state: v.state,
    total_lag: v.total_lag,
    max_lag_seconds: v.max_lag_seconds,
    freshness_seconds: v.freshness_seconds,
    sampled_at: v.sampled_at,
    members: members.map((m) => ({ ...m, partitions: Array.isArray(m.partitions) ? m.partitions : [] })),
    partitions: partitions.map((p) => ({ ...p, lowest_unfinished: p.lowest_unfinished ?? null })),
  }
}

function isHistoryPoint(v: unknown): v is HistoryPoint {
  return (
    isObject(v) && isString(v.t) && isNumber(v.total_lag) && isNumber(v.max_lag_seconds) && isNumber(v.events_per_second)
  )
}

/** Checks a GET /api/consumers/history/ answer; null lists become empty. */
export function toConsumersHistory(v: unknown): ConsumersHistory | null {
  if (!isObject(v) || !isNumber(v.interval_seconds)) return null
  const points = listOf(v.points, isHistoryPoint)
  const markers = listOf(v.markers, isMarker)
  if (points === null || markers === null) return null
  return { interval_seconds: v.interval_seconds, points, markers }
}

function isHeldKey(v: unknown): v is HeldKey {
  return (
    isObject(v) &&
    isString(v.key) &&
    isNumber(v.partition) &&
    isNumber(v.offset) &&
    isString(v.event_id) &&
    isStatus(v.status) &&
    isNumber(v.waiting) &&
    isString(v.consumer_id)
  )
}

function isOrderingPartition(v: unknown): v is OrderingPartition {
  return (
    isObject(v) &&
    isNumber(v.partition) &&
    isString(v.consumer_id) &&
    isNumberOrNull(v.lowest_unfinished ?? null) &&
    isNumber(v.committed)
  )
}

/** Checks a GET /api/ordering/ answer; null lists become empty. */
export function toOrderingView(v: unknown): OrderingView | null {
  if (!isObject(v) || !isNumber(v.held_keys_total)) return null
  const held = listOf(v.held_keys, isHeldKey)
  const partitions = listOf(v.partitions, isOrderingPartition)
  if (held === null || partitions === null) return null
  return {
    held_keys: held,
    held_keys_total: v.held_keys_total,
    partitions: partitions.map((p) => ({ ...p, lowest_unfinished: p.lowest_unfinished ?? null })),
  }
}

function isDLQRecord(v: unknown): v is DLQRecord {
  return (
    isObject(v) &&
    isString(v.id) &&
    isNumber(v.partition) &&
    isNumber(v.offset) &&
    isString(v.timestamp) &&
    isString(v.key) &&
    isString(v.original_topic) &&
    isNumber(v.original_partition) &&
    isNumber(v.original_offset) &&
    isString(v.error) &&
    isString(v.kind) &&
    isNumber(v.attempts) &&
    isString(v.consumer_id) &&
    isString(v.failed_at) &&
    isString(v.event_id) &&
    isString(v.payload) &&
    isBool(v.replayed)
  )
}

function toDLQGroup(v: unknown): DLQGroup | null {
  if (!isObject(v) || !isString(v.kind) || !isNumber(v.count)) return null
  const records = listOf(v.records, isDLQRecord)
  return records === null ? null : { kind: v.kind, count: v.count, records }
}

/** Checks a GET /api/dlq/ answer; null lists become empty. */
export function toDLQView(v: unknown): DLQView | null {
  if (!isObject(v) || !isNumber(v.total)) return null
  if (v.groups !== null && v.groups !== undefined && !Array.isArray(v.groups)) return null
  const groups: DLQGroup[] = []
  for (const g of Array.isArray(v.groups) ? v.groups : []) {
    const ok = toDLQGroup(g)
    if (ok === null) return null
    groups.push(ok)
  }
  return { total: v.total, groups }
}

const isReplayed = (v: unknown): v is ReplayResult['records'][number] =>
  isObject(v) && isString(v.id) && isString(v.event_id) && isNumber(v.original_offset)

/** Checks a POST /api/dlq/replay/ answer; a null list becomes empty. */
export function toReplayResult(v: unknown): ReplayResult | null {
  if (!isObject(v) || !isBool(v.dry_run) || !isNumber(v.count)) return null
  const records = listOf(v.records, isReplayed)
  return records === null ? null : { dry_run: v.dry_run, count: v.count, records }
}

const LOAD_STATUSES = ['running', 'completed', 'stopped', 'failed']
const LOAD_NUMBERS = [
  'events_per_second',
  'duration_seconds',
  'failure_rate',
  'delay_rate',
  'target',
  'sent',
  'acked',
  'failed',
  'progress',
  'current_rate',
] as const

export function isLoadRun(v: unknown): v is LoadRun {
  return (
    isObject(v) &&
    isString(v.id) &&
    LOAD_STATUSES.includes(v.status as string) &&
    isString(v.started_at) &&
    isString(v.ends_at) &&
    LOAD_NUMBERS.every((k) => isNumber(v[k])) &&
    (v.mix === null || (isObject(v.mix) && Object.values(v.mix).every(isNumber))) &&
    optional(v.error, isString)
  )
}

/** Checks a GET /api/load/ answer: a run, or idle. */
export function toLoadState(v: unknown): LoadState | null {
  if (isObject(v) && v.status === 'idle') return { status: 'idle' }
  if (!isLoadRun(v)) return null
  return { ...v, mix: v.mix ?? {} }
}

function isStage(v: unknown): v is Stage {
  return isObject(v) && STAGE_NAMES.some((s) => s === v.stage) && isString(v.at) && optional(v.detail, isString)
}

/** Checks a GET /api/messages/{id}/ answer; a null stage list becomes empty. */
export function toMessageTimeline(v: unknown): MessageTimeline | null {
  if (!isObject(v) || !isMessage(v.message)) return null
  if (v.event !== null && v.event !== undefined && !isStoredEvent(v.event)) return null
  const stages = listOf(v.stages, isStage)
  if (stages === null) return null
  return { message: v.message, event: v.event ?? null, stages }
}

/** Checks a GET /api/events/ answer. */
export function toEventsPage(v: unknown): EventsPage | null {
  if (!isObject(v)) return null
  const events = listOf(v.events, isStoredEvent)
  if (events === null) return null
  const next = v.next_cursor
  if (next !== null && next !== undefined && !isString(next)) return null
  return { events, next_cursor: next === '' || next === undefined ? null : next }
}
