// Shape checks for payloads arriving from the server. Everything that enters
// the app from the network passes through one of these, so components can
// trust the types in ./types.

import {
  SOURCES,
  STATUSES,
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
