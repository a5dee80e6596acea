// The calls of the Pulse API, one function per endpoint, each answer checked
// against its schema. Every failure is an ApiError whose message is the
// server's own {"error": "..."} text when it sent one (http.ts), so the UI
// shows the user exactly what the server objected to: a 403 names the role
// the action needs.

import {
  consumerMetricsSchema,
  consumersHistorySchema,
  seriesSchema,
  consumersViewSchema,
  createEventResponseSchema,
  dlqViewSchema,
  eventsPageSchema,
  loadRunSchema,
  loadRunsSchema,
  loadStateSchema,
  messageTimelineSchema,
  orderingViewSchema,
  queueMessagesSchema,
  replayResultSchema,
  rewindPlanSchema,
  type ConsumerMetrics,
  type ConsumersHistory,
  type Range,
  type Series,
  type ConsumersView,
  type CreateEventResponse,
  type DLQView,
  type EventInput,
  type EventsPage,
  type ExplorerFilter,
  type LoadRequest,
  type LoadRun,
  type LoadRuns,
  type LoadState,
  type MessageTimeline,
  type OrderingView,
  type QueueMessagesResponse,
  type ReplayRequest,
  type ReplayResult,
  type RewindInput,
  type RewindPlan,
  type Source,
  type Status,
  ledgerViewSchema,
  trendSchema,
  funnelSchema,
  retentionSchema,
  type Funnel,
  type FunnelFilter,
  type Retention,
  type RetentionPeriod,
  planDeletedSchema,
  planEntryResultSchema,
  planViewSchema,
  planWarningsViewSchema,
  type PlanEntry,
  type PlanMode,
  type PlanView,
  type PlanWarningsView,
  sourceResultSchema,
  sourcesViewSchema,
  type LedgerView,
  type Trend,
  type TrendMeasure,
  type TrendInterval,
  type TrendRange,
  type SourcesView,
  type TrackingSource,
  liveSchema,
  savedInsightResultSchema,
  rollupKeysSchema,
  rollupKeyResultSchema,
  type RollupKey,
  type RollupKeys,
  type Live,
  savedInsightsSchema,
  type InsightKind,
  type SavedInsight,
  userProfileSchema,
  type UserProfile,
} from './schema'
import { parse, request, send } from './http'

export { ApiError } from './http'

/** Sends one event to POST /api/events/create/ and returns where Kafka put it. Operator. */
export async function createEvent(input: EventInput): Promise<CreateEventResponse> {
  const body = await request('/api/events/create/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  })
  return parse(createEventResponseSchema, '/api/events/create/', body)
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
  return parse(queueMessagesSchema, '/api/queue/messages/', body)
}

/** Reports the consumer group: members, their counters, and lag per partition. */
export async function getConsumerMetrics(signal?: AbortSignal): Promise<ConsumerMetrics> {
  const path = '/api/consumer_metrics/'
  return parse(consumerMetricsSchema, path, await request(path, { signal }))
}

// ---- Operator console ----

/** Reports the consumer group: state, members, partitions with lag in records and seconds. */
export async function getConsumers(signal?: AbortSignal): Promise<ConsumersView> {
  const path = '/api/consumers/'
  return parse(consumersViewSchema, path, await request(path, { signal }))
}

/** Returns the lag history and markers of a range. */
export async function getConsumersHistory(range: Range, signal?: AbortSignal): Promise<ConsumersHistory> {
  const path = `/api/consumers/history/?range=${range}`
  return parse(consumersHistorySchema, path, await request(path, { signal }))
}

/** Returns the events stored per type and their latency percentiles over a range. */
export async function getSeries(range: Range, signal?: AbortSignal): Promise<Series> {
  const path = `/api/series/?range=${range}`
  return parse(seriesSchema, path, await request(path, { signal }))
}

/** Returns the keys held back by ordering and each partition's lowest unfinished offset. */
export async function getOrdering(signal?: AbortSignal): Promise<OrderingView> {
  const path = '/api/ordering/'
  return parse(orderingViewSchema, path, await request(path, { signal }))
}

/** Lists dead-lettered records grouped by error kind. */
export async function getDLQ(signal?: AbortSignal, limit = 1000): Promise<DLQView> {
  return parse(dlqViewSchema, '/api/dlq/', await request(`/api/dlq/?limit=${limit}`, { signal }))
}

/** Replays DLQ records (or reports what would be replayed when dry_run is set). Operator. */
export async function replayDLQ(req: ReplayRequest): Promise<ReplayResult> {
  const path = '/api/dlq/replay/'
  return parse(replayResultSchema, path, await send(path, 'POST', req))
}

/** Rewinds the consumer group (or plans it when dry_run is set). Operator. */
export async function rewindGroup(req: RewindInput): Promise<RewindPlan> {
  const path = '/api/consumers/rewind/'
  return parse(rewindPlanSchema, path, await send(path, 'POST', req))
}

/** Returns one message's record and the stages it went through. */
export async function getMessageTimeline(eventId: string, signal?: AbortSignal): Promise<MessageTimeline> {
  const path = `/api/messages/${encodeURIComponent(eventId)}/`
  return parse(messageTimelineSchema, path, await request(path, { signal }))
}

/** Builds the query string of the explorer's filters, leaving out empty ones. */
export function explorerQuery(f: ExplorerFilter): URLSearchParams {
  const q = new URLSearchParams()
  for (const k of ['user_id', 'event_type', 'element_id', 'session_id', 'from', 'to', 'q'] as const) {
    const v = f[k]?.trim()
    if (v) q.set(k, v)
  }
  return q
}

/** Returns one page of stored events matching the filter, newest first. */
export async function getEvents(
  f: ExplorerFilter,
  cursor: string | null,
  limit = 50,
  signal?: AbortSignal,
): Promise<EventsPage> {
  const q = explorerQuery(f)
  q.set('limit', String(limit))
  if (cursor !== null) q.set('cursor', cursor)
  return parse(eventsPageSchema, '/api/events/', await request(`/api/events/?${q.toString()}`, { signal }))
}

/** The download address of every event matching the filter. */
export function exportURL(f: ExplorerFilter, format: 'csv' | 'ndjson'): string {
  const q = explorerQuery(f)
  q.set('format', format)
  return `/api/events/export/?${q.toString()}`
}

/** Starts a generated load run. Operator; 409 when one is running already. */
export async function startLoad(req: LoadRequest): Promise<LoadRun> {
  return parse(loadRunSchema, '/api/load/', await send('/api/load/', 'POST', req))
}

/** Returns the current or last load run, or idle. */
export async function getLoad(signal?: AbortSignal): Promise<LoadState> {
  return parse(loadStateSchema, '/api/load/', await request('/api/load/', { signal }))
}

/** Returns the last load runs, newest first. */
export async function getLoadRuns(signal?: AbortSignal): Promise<LoadRuns> {
  return parse(loadRunsSchema, '/api/load/runs/', await request('/api/load/runs/', { signal }))
}

/** Stops the running load run. Operator. */
export async function stopLoad(): Promise<LoadRun> {
  return parse(loadRunSchema, '/api/load/', await send('/api/load/', 'DELETE'))
}

// ---- Sources and the delivery ledger ----

/** The sources, revoked ones too, and where pulse.js is served. */
export async function getSources(signal?: AbortSignal): Promise<SourcesView> {
  return parse(sourcesViewSchema, '/api/sources/', await request('/api/sources/', { signal }))
}

/** What a new source is made of. */
export interface NewSource {
  name: string
  origins: string[]
  settings: { respect_dnt: boolean; plan?: PlanMode }
}

/** A change of a source: what it names changes, the rest stays. */
export interface SourceChange {
  origins?: string[]
  settings?: { respect_dnt?: boolean; plan?: PlanMode; store_ip?: boolean; retention?: string }
}

/** Changes a source's origins or settings. Operator. */
export async function updateSource(id: string, change: SourceChange): Promise<TrackingSource> {
  const path = `/api/sources/${encodeURIComponent(id)}/`
  const body = await send(path, 'PATCH', change)
  return parse(sourceResultSchema, path, body).source
}

/** Creates a source. Operator; 409 when the name is taken. */
export async function createSource(req: NewSource): Promise<TrackingSource> {
  const body = await send('/api/sources/', 'POST', req)
  return parse(sourceResultSchema, '/api/sources/', body).source
}

/** Revokes a source: its key is refused from then on. Operator. */
export async function revokeSource(id: string): Promise<TrackingSource> {
  const path = `/api/sources/${encodeURIComponent(id)}/`
  return parse(sourceResultSchema, path, await send(path, 'DELETE')).source
}

/** The delivery ledger of a range, for one source or ("") all. */
export async function getLedger(range: Range, source: string, signal?: AbortSignal): Promise<LedgerView> {
  const q = new URLSearchParams({ range })
  if (source !== '') q.set('source', source)
  const path = `/api/ledger/?${q.toString()}`
  return parse(ledgerViewSchema, '/api/ledger/', await request(path, { signal }))
}

// ---- The tracking plan ----

/** The tracking plan, by event type. */
export async function getPlan(signal?: AbortSignal): Promise<PlanView> {
  return parse(planViewSchema, '/api/plan/', await request('/api/plan/', { signal }))
}

/** Adds or replaces one event type's schema. Admin; 400 names what is wrong with it. */
export async function putPlanEntry(eventType: string, description: string, schema: unknown): Promise<PlanEntry> {
  const path = `/api/plan/types/${encodeURIComponent(eventType)}/`
  const body = await send(path, 'PUT', { description, schema })
  return parse(planEntryResultSchema, path, body).entry
}

/** Takes an event type out of the plan. Admin. */
export async function deletePlanEntry(eventType: string): Promise<string> {
  const path = `/api/plan/types/${encodeURIComponent(eventType)}/`
  return parse(planDeletedSchema, path, await send(path, 'DELETE')).deleted
}

/** What broke the plan in a range, for one source or ("") all. */
export async function getPlanWarnings(range: Range, source: string, signal?: AbortSignal): Promise<PlanWarningsView> {
  const q = new URLSearchParams({ range })
  if (source !== '') q.set('source', source)
  return parse(
    planWarningsViewSchema,
    '/api/plan/warnings/',
    await request(`/api/plan/warnings/?${q.toString()}`, { signal }),
  )
}

// ---- Insights ----

/** What a trend asks: event types (none: all events), a range ending now, its interval, a breakdown. */
export interface TrendRequest {
  types: readonly string[]
  range: TrendRange
  interval: TrendInterval | ''
  /** One of TREND_BREAKDOWNS, properties.<key>, or none. */
  breakdown: string
  compare: boolean
  measure?: TrendMeasure
  /** Filters as the URL writes them: "<field>:<op>[:<value>]" (components/Filters). */
  filters?: readonly string[]
}

/** The query string of a trend request, in a stable order (the query key's). */
export function trendParams(r: TrendRequest): URLSearchParams {
  const q = new URLSearchParams()
  for (const t of r.types) q.append('event_type', t)
  q.set('range', r.range)
  if (r.interval !== '') q.set('interval', r.interval)
  if (r.breakdown !== '') q.set('breakdown', r.breakdown)
  if (r.compare) q.set('compare', 'previous')
  if (r.measure !== undefined && r.measure !== 'count') q.set('measure', r.measure)
  for (const f of r.filters ?? []) q.append('filter', f)
  return q
}

/** Events per bucket of a range, per type or broken down, with the previous period when asked. */
export async function getTrend(r: TrendRequest, signal?: AbortSignal): Promise<Trend> {
  const path = `/api/insights/trend/?${trendParams(r).toString()}`
  return parse(trendSchema, '/api/insights/trend/', await request(path, { signal }))
}

/** One step of a funnel request: events of a type that pass every filter. */
export interface FunnelStepRequest {
  event_type: string
  filters: FunnelFilter[]
}

/**
 * The body of POST /api/insights/funnel/: the steps, the window each user
 * has from their first step, a named range ending now or from and to, and
 * an optional breakdown by a field of the first step with its top N.
 */
export interface FunnelRequest {
  steps: FunnelStepRequest[]
  window?: string
  range?: string
  from?: string
  to?: string
  breakdown?: string
  limit?: number
}

/** Who is on the site now: the live panel. */
export async function getLive(signal?: AbortSignal): Promise<Live> {
  const path = '/api/insights/live/'
  return parse(liveSchema, path, await request(path, { signal }))
}

/** A user's page; an ApiError with status 404 when the user was never seen. */
export async function getUserProfile(userId: string, signal?: AbortSignal): Promise<UserProfile> {
  const path = `/api/users/${encodeURIComponent(userId)}/`
  return parse(userProfileSchema, path, await request(path, { signal }))
}

/** The property keys kept in the rollups, oldest first, and how many may be. */
export async function getRollupKeys(signal?: AbortSignal): Promise<RollupKeys> {
  const path = '/api/insights/rollup-keys/'
  return parse(rollupKeysSchema, path, await request(path, { signal }))
}

/** Keeps a property key (the key alone: plan) in the rollups. Admin. */
export async function addRollupKey(key: string): Promise<RollupKey> {
  const path = '/api/insights/rollup-keys/'
  const body = await send(path, 'POST', { key })
  return parse(rollupKeyResultSchema, path, body).key
}

/** Stops keeping a property key in the rollups. Admin. */
export async function removeRollupKey(key: string): Promise<void> {
  await send(`/api/insights/rollup-keys/${encodeURIComponent(key)}/`, 'DELETE')
}

/** The saved insights, oldest first. */
export async function getSavedInsights(signal?: AbortSignal): Promise<SavedInsight[]> {
  const path = '/api/insights/saved/'
  return parse(savedInsightsSchema, path, await request(path, { signal })).insights
}

/** What a new saved insight is: a name, the page it opens and that page's URL parameters. */
export interface NewSavedInsight {
  name: string
  kind: InsightKind
  query: string
  pinned?: boolean
}

/** Saves an insight. Operator. */
export async function saveInsight(req: NewSavedInsight): Promise<SavedInsight> {
  const path = '/api/insights/saved/'
  const body = await send(path, 'POST', req)
  return parse(savedInsightResultSchema, path, body).insight
}

/** Renames, pins or unpins, or re-queries a saved insight: what the change names. Operator. */
export async function updateSavedInsight(
  id: string,
  change: { name?: string; query?: string; pinned?: boolean },
): Promise<SavedInsight> {
  const path = `/api/insights/saved/${encodeURIComponent(id)}/`
  const body = await send(path, 'PATCH', change)
  return parse(savedInsightResultSchema, path, body).insight
}

/** Deletes a saved insight. Operator. */
export async function deleteSavedInsight(id: string): Promise<void> {
  await send(`/api/insights/saved/${encodeURIComponent(id)}/`, 'DELETE')
}

/** The users who went through the steps in order within the window, step by step. */
export async function getFunnel(r: FunnelRequest, signal?: AbortSignal): Promise<Funnel> {
  const path = '/api/insights/funnel/'
  const body = await request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(r),
    signal,
  })
  return parse(funnelSchema, path, body)
}

/** What a retention table asks: day or week cohorts, a range (Nd or Nw ending now, or from and to), the return event ("" is any). */
export interface RetentionRequest {
  period: RetentionPeriod
  /** "" is the server's default: 14d of days, 8w of weeks. */
  range: string
  from?: string
  to?: string
  returnEvent: string
}

/** The query string of a retention request, in a stable order (the query key's). */
export function retentionParams(r: RetentionRequest): URLSearchParams {
  const q = new URLSearchParams({ period: r.period })
  if (r.from !== undefined && r.to !== undefined) {
    q.set('from', r.from)
    q.set('to', r.to)
  } else if (r.range !== '') q.set('range', r.range)
  if (r.returnEvent !== '') q.set('return_event', r.returnEvent)
  return q
}

/** The users first seen in each period of a range, and how many came back in each later one. */
export async function getRetention(r: RetentionRequest, signal?: AbortSignal): Promise<Retention> {
  const path = `/api/insights/retention/?${retentionParams(r).toString()}`
  return parse(retentionSchema, '/api/insights/retention/', await request(path, { signal }))
}
