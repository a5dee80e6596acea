// TanStack Query over the API client: the query keys in one place, one
// queryOptions per resource, and the QueryClient the app provides once.
// Polling is refetchInterval: TanStack Query skips a poll while the tab is
// hidden and refetches at once when it is shown again (refetchOnWindowFocus);
// a failed poll keeps the last good data next to the error; a query nobody
// observes any more has its request aborted (the fetchers take the signal).

import { infiniteQueryOptions, keepPreviousData, QueryClient, queryOptions } from '@tanstack/react-query'
import {
  getConsumerMetrics,
  getConsumers,
  getConsumersHistory,
  getSeries,
  getDLQ,
  getEvents,
  getLoad,
  getLoadRuns,
  getMessageTimeline,
  getOrdering,
  getQueueMessages,
  getSources,
  getLedger,
  getLive,
  getSavedInsights,
  getRollupKeys,
  getTrend,
  trendParams,
  type TrendRequest,
  getFunnel,
  type FunnelRequest,
  getRetention,
  retentionParams,
  type RetentionRequest,
  getPlan,
  getPlanWarnings,
  getUserProfile,
  type QueueFilter,
} from './client'
import { getAccounts, getSession, getTokens } from './accounts'
import { getAlertHistory, getAlertRules } from './alerts'
import { getPersonalFields } from './privacy'
import type { EventsPage, ExplorerFilter, Range } from './schema'

/** Every query and mutation key of the app. */
export const keys = {
  consumerMetrics: ['consumer_metrics'] as const,
  queueMessages: (f: QueueFilter, resync: number) => ['queue', 'messages', f, resync] as const,
  consumers: ['consumers'] as const,
  rewind: ['consumers', 'rewind'] as const,
  consumersHistory: (range: Range) => ['consumers', 'history', range] as const,
  series: (range: Range) => ['series', range] as const,
  ordering: ['ordering'] as const,
  dlq: ['dlq'] as const,
  load: ['load'] as const,
  loadRuns: ['load', 'runs'] as const,
  timeline: (eventId: string) => ['messages', eventId, 'timeline'] as const,
  events: (f: ExplorerFilter) => ['events', f] as const,
  createEvent: ['create_event'] as const,
  replay: ['dlq', 'replay'] as const,
  startLoad: ['load', 'start'] as const,
  stopLoad: ['load', 'stop'] as const,
  sources: ['sources'] as const,
  createSource: ['sources', 'create'] as const,
  revokeSource: ['sources', 'revoke'] as const,
  ledger: (range: Range, source: string) => ['ledger', range, source] as const,
  saved: ['insights', 'saved'] as const,
  rollupKeys: ['insights', 'rollup-keys'] as const,
  live: ['insights', 'live'] as const,
  user: (userId: string) => ['users', userId] as const,
  trend: (r: TrendRequest) => ['insights', 'trend', trendParams(r).toString()] as const,
  funnel: (r: FunnelRequest) => ['insights', 'funnel', JSON.stringify(r)] as const,
  retention: (r: RetentionRequest) => ['insights', 'retention', retentionParams(r).toString()] as const,
  updateSource: ['sources', 'update'] as const,
  plan: ['plan'] as const,
  putPlanEntry: ['plan', 'put'] as const,
  deletePlanEntry: ['plan', 'delete'] as const,
  planWarnings: (range: Range, source: string) => ['plan', 'warnings', range, source] as const,
  session: ['session'] as const,
  signIn: ['session', 'sign-in'] as const,
  signOut: ['session', 'sign-out'] as const,
  accounts: ['accounts'] as const,
  createAccount: ['accounts', 'create'] as const,
  updateAccount: ['accounts', 'update'] as const,
  removeAccount: ['accounts', 'remove'] as const,
  tokens: ['tokens'] as const,
  createToken: ['tokens', 'create'] as const,
  revokeToken: ['tokens', 'revoke'] as const,
  personalFields: ['privacy', 'fields'] as const,
  putPersonalFields: ['privacy', 'fields', 'put'] as const,
  erase: ['privacy', 'erase'] as const,
  erased: ['privacy', 'erased'] as const,
  alertRules: ['alerts', 'rules'] as const,
  alertHistory: (rule: string) => ['alerts', 'history', rule] as const,
}

/** The app's QueryClient. No retries: a poll comes again soon, and a failed action says so at once. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false },
      mutations: { retry: false },
    },
  })
}

/** GET /api/consumer_metrics/ every intervalMs. */
export const consumerMetricsQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.consumerMetrics,
    queryFn: ({ signal }) => getConsumerMetrics(signal),
    refetchInterval: intervalMs,
  })

/**
 * GET /api/queue/messages/ with the filter, fetched again when the filter or
 * the resync generation changes; no polling (live updates follow).
 */
export const queueMessagesQuery = (f: QueueFilter, resync: number) =>
  queryOptions({
    queryKey: keys.queueMessages(f, resync),
    queryFn: ({ signal }) => getQueueMessages(f, signal),
    // The previous filter's list stays until the new one loads.
    placeholderData: keepPreviousData,
    refetchOnWindowFocus: false,
  })

/** GET /api/consumers/ every intervalMs. */
export const consumersQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.consumers,
    queryFn: ({ signal }) => getConsumers(signal),
    refetchInterval: intervalMs,
  })

/** GET /api/consumers/history/ of a range every intervalMs; the previous range's stays until the new one loads. */
export const consumersHistoryQuery = (range: Range, intervalMs: number) =>
  queryOptions({
    queryKey: keys.consumersHistory(range),
    queryFn: ({ signal }) => getConsumersHistory(range, signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
  })

/**
 * GET /api/series/ of a range, fetched again once a step has passed (at
 * least every 10 s): the server's steps replace what the page counted live.
 */
export const seriesQuery = (range: Range, stepMs: number) =>
  queryOptions({
    queryKey: keys.series(range),
    queryFn: ({ signal }) => getSeries(range, signal),
    refetchInterval: Math.max(10_000, stepMs),
    placeholderData: keepPreviousData,
  })

/** GET /api/ordering/ every intervalMs. */
export const orderingQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.ordering,
    queryFn: ({ signal }) => getOrdering(signal),
    refetchInterval: intervalMs,
  })

/** GET /api/dlq/ every intervalMs. */
export const dlqQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.dlq,
    queryFn: ({ signal }) => getDLQ(signal),
    refetchInterval: intervalMs,
  })

/** GET /api/load/: every runningMs while a run is going, every idleMs otherwise. */
export const loadQuery = (runningMs: number, idleMs: number) =>
  queryOptions({
    queryKey: keys.load,
    queryFn: ({ signal }) => getLoad(signal),
    refetchInterval: (q) => (q.state.data?.status === 'running' ? runningMs : idleMs),
  })

/** GET /api/load/runs/ every intervalMs. */
export const loadRunsQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.loadRuns,
    queryFn: ({ signal }) => getLoadRuns(signal),
    refetchInterval: intervalMs,
  })

/** Statuses after which a message's timeline changes no more. */
const FINISHED = new Set(['completed', 'failed', 'dead_lettered'])

/**
 * GET /api/messages/{event_id}/, again every intervalMs while the message is
 * in flight (queued, processing, retrying), so an open timeline follows it;
 * once it has finished, no more.
 */
export const timelineQuery = (eventId: string, intervalMs = 1000) =>
  queryOptions({
    queryKey: keys.timeline(eventId),
    queryFn: ({ signal }) => getMessageTimeline(eventId, signal),
    refetchOnWindowFocus: false,
    refetchInterval: (q) => {
      const status = q.state.data?.message.status
      return status !== undefined && FINISHED.has(status) ? false : intervalMs
    },
  })

/** GET /api/events/ with the filter, page after page along next_cursor. */
export const eventsQuery = (f: ExplorerFilter, pageSize: number) =>
  infiniteQueryOptions({
    queryKey: keys.events(f),
    queryFn: ({ pageParam, signal }) => getEvents(f, pageParam, pageSize, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last: EventsPage) => last.next_cursor,
    refetchOnWindowFocus: false,
  })

/** GET /api/sources/ every intervalMs. */
export const sourcesQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.sources,
    queryFn: ({ signal }) => getSources(signal),
    refetchInterval: intervalMs,
  })

/** GET /api/ledger/ of a range and source every intervalMs; the previous answer stays until the new one loads. */
export const ledgerQuery = (range: Range, source: string, intervalMs: number) =>
  queryOptions({
    queryKey: keys.ledger(range, source),
    queryFn: ({ signal }) => getLedger(range, source, signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
  })

/** GET /api/insights/trend/ every intervalMs (the open bucket fills); the previous answer stays until the new one loads. */
export const trendQuery = (r: TrendRequest, intervalMs: number) =>
  queryOptions({
    queryKey: keys.trend(r),
    queryFn: ({ signal }) => getTrend(r, signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
  })

/**
 * POST /api/insights/funnel/ every intervalMs, only while enabled (a funnel
 * being built is not asked for); the previous answer stays until the new
 * one loads.
 */
export const funnelQuery = (r: FunnelRequest, intervalMs: number, enabled: boolean) =>
  queryOptions({
    queryKey: keys.funnel(r),
    queryFn: ({ signal }) => getFunnel(r, signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
    enabled,
  })

/** GET /api/insights/retention/ every intervalMs; the previous answer stays until the new one loads. */
export const retentionQuery = (r: RetentionRequest, intervalMs: number) =>
  queryOptions({
    queryKey: keys.retention(r),
    queryFn: ({ signal }) => getRetention(r, signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
  })

/** GET /api/insights/live/ every intervalMs. */
export const liveQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.live,
    queryFn: ({ signal }) => getLive(signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
  })

/** GET /api/users/{user_id}/ every intervalMs; a 404 (a user never seen) is an answer, not retried. */
export const userProfileQuery = (userId: string, intervalMs: number) =>
  queryOptions({
    queryKey: keys.user(userId),
    queryFn: ({ signal }) => getUserProfile(userId, signal),
    refetchInterval: intervalMs,
    enabled: userId !== '',
  })

/** GET /api/insights/rollup-keys/: every fillingMs while a key is being filled, every idleMs otherwise. */
export const rollupKeysQuery = (fillingMs: number, idleMs: number) =>
  queryOptions({
    queryKey: keys.rollupKeys,
    queryFn: ({ signal }) => getRollupKeys(signal),
    refetchInterval: (q) => (q.state.data?.keys.some((k) => !k.ready) ? fillingMs : idleMs),
  })

/** GET /api/insights/saved/ every intervalMs. */
export const savedInsightsQuery = (intervalMs: number) =>
  queryOptions({ queryKey: keys.saved, queryFn: ({ signal }) => getSavedInsights(signal), refetchInterval: intervalMs })

/** GET /api/alerts/rules/ every intervalMs. */
export const alertRulesQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.alertRules,
    queryFn: ({ signal }) => getAlertRules(signal),
    refetchInterval: intervalMs,
  })

/** GET /api/alerts/history/ of one rule or all, newest first, paged back; every page again every intervalMs. */
export const alertHistoryQuery = (rule: string, intervalMs: number) =>
  infiniteQueryOptions({
    queryKey: keys.alertHistory(rule),
    queryFn: ({ pageParam, signal }) => getAlertHistory(rule, pageParam, signal),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next_before,
    refetchInterval: intervalMs,
  })

/** GET /api/plan/ every intervalMs. */
export const planQuery = (intervalMs: number) =>
  queryOptions({
    queryKey: keys.plan,
    queryFn: ({ signal }) => getPlan(signal),
    refetchInterval: intervalMs,
  })

/** GET /api/plan/warnings/ of a range and source every intervalMs; the previous answer stays until the new one loads. */
export const planWarningsQuery = (range: Range, source: string, intervalMs: number) =>
  queryOptions({
    queryKey: keys.planWarnings(range, source),
    queryFn: ({ signal }) => getPlanWarnings(range, source, signal),
    refetchInterval: intervalMs,
    placeholderData: keepPreviousData,
  })

/**
 * GET /api/auth/me/ as a session state, read once: what ends a session (a
 * 401 anywhere, a sign-out) or starts one writes the answer in its place
 * (hooks/session.ts), so it is never stale by itself.
 */
export const sessionQuery = () =>
  queryOptions({
    queryKey: keys.session,
    queryFn: ({ signal }) => getSession(signal),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  })

/** GET /api/accounts/ every intervalMs. */
export const accountsQuery = (intervalMs: number) =>
  queryOptions({ queryKey: keys.accounts, queryFn: ({ signal }) => getAccounts(signal), refetchInterval: intervalMs })

/** GET /api/tokens/ every intervalMs (last used moves). */
export const tokensQuery = (intervalMs: number) =>
  queryOptions({ queryKey: keys.tokens, queryFn: ({ signal }) => getTokens(signal), refetchInterval: intervalMs })

/** GET /api/privacy/fields/ every intervalMs: an admin may change them, and a role may change under a session. */
export const personalFieldsQuery = (intervalMs: number, enabled = true) =>
  queryOptions({
    queryKey: keys.personalFields,
    queryFn: ({ signal }) => getPersonalFields(signal),
    refetchInterval: intervalMs,
    enabled,
  })
