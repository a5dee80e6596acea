// One hook per polled resource of the console, over TanStack Query (the
// queries and their keys are in src/api/queries.ts). Each returns the last
// good answer (null before the first) and the error of the last poll, if it
// failed.

import { useQuery, type UseQueryResult } from '@tanstack/react-query'
import { useMemo } from 'react'
import {
  consumersHistoryQuery,
  consumersQuery,
  dlqQuery,
  loadQuery,
  loadRunsQuery,
  orderingQuery,
  sourcesQuery,
  ledgerQuery,
  trendQuery,
  savedInsightsQuery,
  alertRulesQuery,
  rollupKeysQuery,
  liveQuery,
  funnelQuery,
  retentionQuery,
  planQuery,
  planWarningsQuery,
  userProfileQuery,
  accountsQuery,
  tokensQuery,
  personalFieldsQuery,
} from '../api/queries'
import type {
  PlanView,
  PlanWarningsView,
  ConsumersHistory,
  ConsumersView,
  DLQView,
  LedgerView,
  Trend,
  Funnel,
  Retention,
  LoadRuns,
  LoadState,
  OrderingView,
  Range,
  SourcesView,
  SavedInsight,
  RollupKeys,
  Live,
  UserProfile,
  Account,
  APIToken,
  PersonalFields,
  AlertRules,
} from '../api/schema'
import { ApiError, type FunnelRequest, type RetentionRequest, type TrendRequest } from '../api/client'
import { errorMessage } from '../format'
import { useRole } from './role'

/** The state of a polled resource. */
export interface Polled<T> {
  data: T | null
  error: string | null
}

function polled<T>(q: UseQueryResult<T>): Polled<T> {
  return { data: q.data ?? null, error: q.error === null ? null : errorMessage(q.error) }
}

/** GET /api/consumers/ every few seconds. */
export function useConsumers(intervalMs = 3000): Polled<ConsumersView> {
  return polled(useQuery(consumersQuery(intervalMs)))
}

/** GET /api/consumers/history/ of a range every few seconds. */
export function useConsumersHistory(range: Range, intervalMs = 5000): Polled<ConsumersHistory> {
  return polled(useQuery(consumersHistoryQuery(range, intervalMs)))
}

/** GET /api/ordering/ every few seconds. */
export function useOrdering(intervalMs = 2000): Polled<OrderingView> {
  return polled(useQuery(orderingQuery(intervalMs)))
}

/** GET /api/dlq/ every few seconds. */
export function useDLQ(intervalMs = 5000): Polled<DLQView> {
  return polled(useQuery(dlqQuery(intervalMs)))
}

/** GET /api/load/: every second while a run is going, every few seconds otherwise. */
export function useLoad(runningMs = 1000, idleMs = 5000): Polled<LoadState> {
  return polled(useQuery(loadQuery(runningMs, idleMs)))
}

/** GET /api/load/runs/ every intervalMs. */
export function useLoadRuns(intervalMs = 5000): Polled<LoadRuns> {
  return polled(useQuery(loadRunsQuery(intervalMs)))
}

/** GET /api/sources/ every intervalMs. */
export function useSources(intervalMs = 10_000): Polled<SourcesView> {
  return polled(useQuery(sourcesQuery(intervalMs)))
}

/** GET /api/ledger/ of a range and source every intervalMs. */
export function useLedger(range: Range, source: string, intervalMs = 10_000): Polled<LedgerView> {
  return polled(useQuery(ledgerQuery(range, source, intervalMs)))
}

/** GET /api/insights/live/ every intervalMs. */
export function useLive(intervalMs = 10_000): Polled<Live> {
  return polled(useQuery(liveQuery(intervalMs)))
}

/** GET /api/insights/rollup-keys/: every fillingMs while a key is being filled, every idleMs otherwise. */
export function useRollupKeys(fillingMs = 2_000, idleMs = 30_000): Polled<RollupKeys> {
  return polled(useQuery(rollupKeysQuery(fillingMs, idleMs)))
}

/** GET /api/insights/saved/ every intervalMs. */
export function useSavedInsights(intervalMs = 30_000): Polled<SavedInsight[]> {
  return polled(useQuery(savedInsightsQuery(intervalMs)))
}

/** GET /api/insights/trend/ every intervalMs. */
export function useTrend(r: TrendRequest, intervalMs = 10_000): Polled<Trend> {
  return polled(useQuery(trendQuery(r, intervalMs)))
}

/** POST /api/insights/funnel/ every intervalMs while enabled (null data while it is not). */
export function useFunnel(r: FunnelRequest, enabled: boolean, intervalMs = 60_000): Polled<Funnel> {
  return polled(useQuery(funnelQuery(r, intervalMs, enabled)))
}

/** GET /api/insights/retention/ every intervalMs. */
export function useRetention(r: RetentionRequest, intervalMs = 60_000): Polled<Retention> {
  return polled(useQuery(retentionQuery(r, intervalMs)))
}

/** GET /api/plan/ every intervalMs. */
export function usePlan(intervalMs = 10_000): Polled<PlanView> {
  return polled(useQuery(planQuery(intervalMs)))
}

/** GET /api/plan/warnings/ of a range and source every intervalMs. */
export function usePlanWarnings(range: Range, source: string, intervalMs = 10_000): Polled<PlanWarningsView> {
  return polled(useQuery(planWarningsQuery(range, source, intervalMs)))
}

/** GET /api/users/{user_id}/ every intervalMs; notFound when the server says it never saw the user. */
export function useUserProfile(userId: string, intervalMs = 30_000): Polled<UserProfile> & { notFound: boolean } {
  const q = useQuery(userProfileQuery(userId, intervalMs))
  const notFound = q.error instanceof ApiError && q.error.status === 404
  return { ...polled(q), notFound }
}

/** GET /api/accounts/ every intervalMs. Admin. */
export function useAccounts(intervalMs = 30_000): Polled<Account[]> {
  return polled(useQuery(accountsQuery(intervalMs)))
}

/** GET /api/tokens/ every intervalMs. Admin. */
export function useTokens(intervalMs = 30_000): Polled<APIToken[]> {
  return polled(useQuery(tokensQuery(intervalMs)))
}

/**
 * GET /api/privacy/fields/ every intervalMs: the fields declared personal,
 * and whether the signed-in reader sees them masked (below admin). Until
 * the first answer, nothing is taken as masked: the server masks anyway.
 */
export function usePersonalFields(intervalMs = 60_000): Polled<PersonalFields> {
  return polled(useQuery(personalFieldsQuery(intervalMs)))
}

const NONE: ReadonlySet<string> = new Set()

/**
 * The fields the signed-in reader sees masked, and may not filter by
 * (but for "is set"): none for an admin, and none where no role is known
 * or before the server answers; the server masks and refuses regardless,
 * this only spares the reader a refused search.
 */
export function useMaskedFields(intervalMs = 60_000): ReadonlySet<string> {
  const role = useRole()
  const q = useQuery(personalFieldsQuery(intervalMs, role !== null && role !== 'admin'))
  return useMemo(() => (q.data?.masked ? new Set(q.data.fields) : NONE), [q.data])
}

/** GET /api/alerts/rules/ every intervalMs. */
export function useAlertRules(intervalMs = 5000): Polled<AlertRules> {
  return polled(useQuery(alertRulesQuery(intervalMs)))
}
