// The alert rules and their history (docs/alerts.md): rules made here or
// read from the server's rules file, silences, and every firing and
// resolution with its webhook's delivery attempts.

import { parse, request, send } from './http'
import {
  alertHistorySchema,
  alertRuleResultSchema,
  alertRulesSchema,
  type AlertHistory,
  type AlertRule,
  type AlertRules,
} from './schema'

/** The rules, the file's first, with their state. */
export async function getAlertRules(signal?: AbortSignal): Promise<AlertRules> {
  const path = '/api/alerts/rules/'
  return parse(alertRulesSchema, path, await request(path, { signal }))
}

/** What a rule is made of, as the API takes it; durations as Go writes them ("5m"). */
export interface AlertRuleInput {
  name: string
  signal: AlertRule['signal']
  event_type?: string
  page?: string
  compare?: 'value' | 'previous_period'
  window?: string
  op: AlertRule['op']
  threshold: number
  for: string
  hysteresis: number
  repeat: string
  webhook_url: string
  webhook_format: AlertRule['webhook_format']
  enabled: boolean
}

/** Adds a rule. Operator. */
export async function createAlertRule(r: AlertRuleInput): Promise<AlertRule> {
  const path = '/api/alerts/rules/'
  return parse(alertRuleResultSchema, path, await send(path, 'POST', r)).rule
}

/** Replaces a rule's definition. Operator. */
export async function updateAlertRule(id: string, r: AlertRuleInput): Promise<AlertRule> {
  const path = `/api/alerts/rules/${encodeURIComponent(id)}/`
  return parse(alertRuleResultSchema, path, await send(path, 'PUT', r)).rule
}

/** Deletes a rule; its history stays. Operator. */
export async function deleteAlertRule(id: string): Promise<void> {
  await send(`/api/alerts/rules/${encodeURIComponent(id)}/`, 'DELETE')
}

/** Silences a rule for a duration ("2h"), or lifts its silence (null). Operator. */
export async function silenceAlertRule(id: string, duration: string | null): Promise<AlertRule> {
  const path = `/api/alerts/rules/${encodeURIComponent(id)}/silence/`
  const body = duration === null ? { until: null } : { for: duration }
  return parse(alertRuleResultSchema, path, await send(path, 'PUT', body)).rule
}

/** A page of the history, newest first: of one rule when given, older than before when given. */
export async function getAlertHistory(
  rule: string,
  before: number | null,
  signal?: AbortSignal,
): Promise<AlertHistory> {
  const p = new URLSearchParams({ limit: '50' })
  if (rule !== '') p.set('rule', rule)
  if (before !== null) p.set('before', String(before))
  const path = `/api/alerts/history/?${p.toString()}`
  return parse(alertHistorySchema, path, await request(path, { signal }))
}
