// The contract between the Go handlers and the schemas: every golden answer
// test/contract recorded from a real `pulse serve` (src/api/contract/*.json,
// rewritten with `go test ./test/contract/ -update`) must parse with the
// schema of its endpoint. The objects are strict, so a member the Go side
// added fails here until the schema names it.

import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  consumerMetricsSchema,
  consumersHistorySchema,
  seriesSchema,
  consumersViewSchema,
  createEventResponseSchema,
  describeIssues,
  dlqViewSchema,
  eventsPageSchema,
  healthSchema,
  latestEventsSchema,
  loadRunSchema,
  loadRunsSchema,
  loadStateSchema,
  messageTimelineSchema,
  orderingViewSchema,
  queueMessagesSchema,
  queueStatsSchema,
  replayResultSchema,
  rewindPlanSchema,
  serverMessageSchema,
  sourceResultSchema,
  sourcesViewSchema,
  collectResultSchema,
  ledgerViewSchema,
  trendSchema,
  funnelSchema,
  retentionSchema,
  liveSchema,
  planEntryResultSchema,
  planViewSchema,
  planWarningsViewSchema,
  userProfileSchema,
  rollupKeysSchema,
  rollupKeyResultSchema,
  whoamiSchema,
  accountsSchema,
  accountResultSchema,
  tokensSchema,
  tokenCreatedSchema,
  auditPageSchema,
  providersSchema,
  personalFieldsSchema,
  eraseResultSchema,
  erasedPageSchema,
  alertRulesSchema,
  alertRuleResultSchema,
  alertHistorySchema,
} from './schema'

const files: Record<string, string> = import.meta.glob('./contract/*.json', {
  eager: true,
  query: '?raw',
  import: 'default',
})

// The schema of each golden answer, by file name.
const contract: Record<string, z.ZodType> = {
  create_event: createEventResponseSchema,
  latest_events: latestEventsSchema,
  queue_messages: queueMessagesSchema,
  queue_stats: queueStatsSchema,
  health: healthSchema,
  consumer_metrics: consumerMetricsSchema,
  consumers: consumersViewSchema,
  consumers_history: consumersHistorySchema,
  series: seriesSchema,
  ordering: orderingViewSchema,
  dlq: dlqViewSchema,
  dlq_replay_dry_run: replayResultSchema,
  rewind_dry_run: rewindPlanSchema,
  rewind: rewindPlanSchema,
  events_page: eventsPageSchema,
  timeline_stored: messageTimelineSchema,
  timeline_dead_lettered: messageTimelineSchema,
  load_idle: loadStateSchema,
  load_start: loadRunSchema,
  load_running: loadStateSchema,
  load_stop: loadRunSchema,
  load_runs: loadRunsSchema,
  ws_initial_data: serverMessageSchema,
  source_create: sourceResultSchema,
  sources: sourcesViewSchema,
  collect: collectResultSchema,
  ledger: ledgerViewSchema,
  plan_entry: planEntryResultSchema,
  source_update: sourceResultSchema,
  plan: planViewSchema,
  plan_warnings: planWarningsViewSchema,
  trend: trendSchema,
  trend_breakdown: trendSchema,
  trend_users: trendSchema,
  trend_sketch: trendSchema,
  funnel: funnelSchema,
  funnel_breakdown: funnelSchema,
  retention: retentionSchema,
  live: liveSchema,
  user: userProfileSchema,
  rollup_keys: rollupKeysSchema,
  rollup_key_add: rollupKeyResultSchema,
  me_open: whoamiSchema,
  me_admin_token: whoamiSchema,
  login: whoamiSchema,
  accounts: accountsSchema,
  account_add: accountResultSchema,
  tokens: tokensSchema,
  token_create: tokenCreatedSchema,
  audit: auditPageSchema,
  providers: providersSchema,
  privacy_fields: personalFieldsSchema,
  privacy_erase: eraseResultSchema,
  privacy_erased: erasedPageSchema,
  alert_rule_create: alertRuleResultSchema,
  alert_rules: alertRulesSchema,
  alert_history: alertHistorySchema,
}

const golden = (name: string) => files[`./contract/${name}.json`]

describe('golden answers of the Go server', () => {
  it('are all there, and nothing else is', () => {
    const names = Object.keys(files).map((f) => f.replace(/^\.\/contract\/(.*)\.json$/, '$1'))
    expect(names.sort()).toEqual(Object.keys(contract).sort())
  })

  it.each(Object.entries(contract))('%s parses with its schema', (name, schema) => {
    const text = golden(name)
    expect(text, `src/api/contract/${name}.json is missing`).toBeTypeOf('string')
    expect(text.trim(), `src/api/contract/${name}.json is empty`).not.toBe('')
    const r = schema.safeParse(JSON.parse(text))
    if (!r.success) throw new Error(`src/api/contract/${name}.json: ${describeIssues(r.error, 10)}`)
  })

  it('cover the cases the app tells apart', () => {
    const parse = <S extends z.ZodType>(s: S, name: string): z.output<S> => s.parse(JSON.parse(golden(name)))
    expect(parse(loadStateSchema, 'load_idle')).toEqual({ status: 'idle' })
    expect(parse(loadStateSchema, 'load_running').status).toBe('running')
    const stopped = parse(loadRunSchema, 'load_stop')
    expect(stopped.status).toBe('stopped')
    expect(stopped.error).toBeUndefined()
    expect(stopped.ended_at).toBeTypeOf('string')
    expect(parse(loadRunsSchema, 'load_runs').runs[0]?.id).toBe(stopped.id)
    expect(parse(serverMessageSchema, 'ws_initial_data').type).toBe('initial_data')
    expect(parse(messageTimelineSchema, 'timeline_stored').event).not.toBeNull()
    const dead = parse(messageTimelineSchema, 'timeline_dead_lettered')
    expect(dead.message.status).toBe('dead_lettered')
    expect(dead.message.attempts?.length).toBeGreaterThan(0)
    // Each attempt names its member: after a crash, several members'.
    expect(dead.message.attempts?.[0]?.consumer_id).toBeTypeOf('string')
    expect(parse(dlqViewSchema, 'dlq').groups[0]?.records.length).toBeGreaterThan(0)
    expect(parse(eventsPageSchema, 'events_page').next_cursor).not.toBeNull()
    expect(parse(sourceResultSchema, 'source_update').source.settings.plan).toBe('warn')
    const trend = parse(trendSchema, 'trend')
    expect(trend.previous).toBeNull()
    expect(trend.current.series[0]?.key).toBe('')
    const split = parse(trendSchema, 'trend_breakdown')
    expect(split.previous?.buckets.length).toBe(split.current.buckets.length)
    expect(split.current.series.some((s) => s.other)).toBe(true)
    // A user under two values of the property is in both series, once in the total.
    const users = parse(trendSchema, 'trend_users')
    expect(users.measure).toBe('users')
    expect(users.breakdown).toBe('properties.n')
    expect(users.current.series.find((s) => s.key === '1')?.total).toBe(1)
    expect(users.current.series.reduce((n, s) => n + s.total, 0)).toBeGreaterThan(users.current.total)
    expect(users.exact).toBe(true)
    const sketched = parse(trendSchema, 'trend_sketch')
    expect(sketched.exact).toBe(false)
    expect(sketched.current.total).toBeGreaterThan(0)
    const funnel = parse(funnelSchema, 'funnel')
    expect(funnel.breakdown).toBeUndefined()
    expect(funnel.steps.length).toBeGreaterThanOrEqual(2)
    expect(funnel.steps[0].median_seconds).toBeNull()
    const byValue = parse(funnelSchema, 'funnel_breakdown')
    expect(byValue.breakdown?.length).toBeGreaterThan(0)
    expect(byValue.breakdown?.every((b) => b.steps.length === byValue.steps.length)).toBe(true)
    const user = parse(userProfileSchema, 'user')
    expect(user.last_seen).not.toBeNull()
    expect(user.days).toHaveLength(90)
    expect(user.sessions[0]?.pages.length).toBeGreaterThan(0)
    const retention = parse(retentionSchema, 'retention')
    expect(retention.cohorts.length).toBeGreaterThan(0)
    // The triangle: each later cohort has no more periods than the one before.
    retention.cohorts.forEach((c, i) =>
      expect(c.returned.length).toBeLessThanOrEqual(retention.cohorts[i - 1]?.returned.length ?? Infinity),
    )
    const warned = parse(planWarningsViewSchema, 'plan_warnings').warnings
    expect(warned.map((w) => [w.event_type, w.problem, w.warned])).toEqual([['page_view', 'unknown_event_type', 1]])
  })
})
