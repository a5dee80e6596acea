// The audit log (docs/accounts.md#audit-log): a page of entries, newest
// first, and the export of all that match.

import { parse, request } from './http'
import { auditPageSchema, type AuditPage } from './schema'

/** The filters of the log; empty ones are left out. */
export interface AuditFilter {
  q: string
  outcome: '' | 'ok' | 'refused' | 'failed'
  actor: string
  action: string
}

function query(f: AuditFilter): URLSearchParams {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(f) as [string, string][]) if (v !== '') p.set(k, v)
  return p
}

/** A page of entries matching f, older than before when given. */
export async function getAuditLog(f: AuditFilter, before: number | null, signal?: AbortSignal): Promise<AuditPage> {
  const p = query(f)
  p.set('limit', '100')
  if (before !== null) p.set('before', String(before))
  const path = `/api/audit/?${p.toString()}`
  return parse(auditPageSchema, path, await request(path, { signal }))
}

/** Where every entry matching f downloads from, as CSV or NDJSON. */
export function auditExportURL(f: AuditFilter, format: 'csv' | 'ndjson'): string {
  const p = query(f)
  p.set('format', format)
  return `/api/audit/export/?${p.toString()}`
}
