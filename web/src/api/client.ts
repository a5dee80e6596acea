// HTTP helpers for the Pulse API. Every failure becomes an ApiError whose
// message is the server's own {"error": "..."} text when it sent one, so the
// UI can show the user exactly what the server objected to.

import { isCreateEventResponse, isObject, isQueueMessagesResponse, toConsumerMetrics } from './guards'
import type { ConsumerMetrics, CreateEventResponse, EventInput, QueueMessagesResponse, Source, Status } from './types'

/** A failed API call: status is 0 when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number

  constructor(message: string, status: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

async function request(path: string, init?: RequestInit): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init?.headers } })
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new ApiError(`cannot reach the server: ${reason}`, 0)
  }
  const text = await res.text()
  let body: unknown = undefined
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
  }
  if (!res.ok) {
    if (isObject(body) && typeof body.error === 'string' && body.error !== '') {
      throw new ApiError(body.error, res.status)
    }
    throw new ApiError(`${res.status} ${res.statusText || 'error'}`.trim(), res.status)
  }
  return body
}

/** Sends one event to POST /api/events/create/ and returns where Kafka put it. */
export async function createEvent(input: EventInput): Promise<CreateEventResponse> {
  const body = await request('/api/events/create/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  })
  if (!isCreateEventResponse(body)) {
    throw new ApiError('unexpected answer from /api/events/create/', 200)
  }
  return body
}

/** Filters of GET /api/queue/messages/; absent means all. */
export interface QueueFilter {
  status?: Status
  source?: Source
  limit?: number
}

/** Lists processing-log messages: in-flight first, then stored newest first. */
export async function getQueueMessages(filter: QueueFilter, signal?: AbortSignal): Promise<QueueMessagesResponse> {
  const q = new URLSearchParams()
  if (filter.status) q.set('status', filter.status)
  if (filter.source) q.set('source', filter.source)
  q.set('limit', String(filter.limit ?? 50))
  const body = await request(`/api/queue/messages/?${q.toString()}`, { signal })
  if (!isQueueMessagesResponse(body)) {
    throw new ApiError('unexpected answer from /api/queue/messages/', 200)
  }
  return body
}

/** Reports the consumer group: members, their counters, and lag per partition. */
export async function getConsumerMetrics(signal?: AbortSignal): Promise<ConsumerMetrics> {
  const m = toConsumerMetrics(await request('/api/consumer_metrics/', { signal }))
  if (m === null) throw new ApiError('unexpected answer from /api/consumer_metrics/', 200)
  return m
}
