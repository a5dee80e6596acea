import { useInfiniteQuery } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { auditExportURL, getAuditLog, type AuditFilter } from '../api/audit'
import type { AuditEntry } from '../api/schema'
import { Badge } from '../components/ui/Badge'
import { Button } from '../components/ui/Button'
import { LoadOlder } from '../components/ui/LoadOlder'
import { Card } from '../components/ui/Card'
import { Field, Input, Label, Select } from '../components/ui/Field'
import { ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { errorMessage } from '../format'
import { useRouteParams } from '../hooks/route'

const OUTCOMES = ['', 'ok', 'refused', 'failed'] as const

function filterOf(params: URLSearchParams): AuditFilter {
  const outcome = params.get('outcome') ?? ''
  return {
    q: params.get('q') ?? '',
    outcome: (OUTCOMES as readonly string[]).includes(outcome) ? (outcome as AuditFilter['outcome']) : '',
    actor: params.get('actor') ?? '',
    action: params.get('action') ?? '',
  }
}

const TONE = { ok: 'green', refused: 'amber', failed: 'red' } as const

const COLUMNS: readonly Column<AuditEntry>[] = [
  {
    header: 'Time',
    cell: (e) => (
      <time dateTime={e.at} title={e.at}>
        {new Date(e.at).toLocaleString()}
      </time>
    ),
    className: 'whitespace-nowrap',
  },
  { header: 'Actor', cell: (e) => e.actor, className: 'break-all' },
  { header: 'Action', cell: (e) => <code className="font-mono">{e.action}</code> },
  { header: 'Target', cell: (e) => e.target || '—', className: 'break-all' },
  {
    header: 'Outcome',
    cell: (e) => (
      <Badge tone={TONE[e.outcome]}>
        {e.outcome}
        {e.status !== 0 && ` ${e.status}`}
      </Badge>
    ),
  },
  { header: 'Detail', cell: (e) => e.detail || '—' },
  { header: 'From', cell: (e) => <span title={`request ${e.request_id || '—'}`}>{e.client_ip || '—'}</span> },
]

/**
 * The audit log, for admins: every sign-in and change, newest first,
 * filtered by text, outcome, actor and action (kept in the URL, so a
 * filtered view can be shared), paged back, and exported whole.
 */
export function AuditPage() {
  const id = useId()
  const [params, setParams] = useRouteParams()
  const applied = filterOf(params)
  const [q, setQ] = useState(applied.q)
  const pages = useInfiniteQuery({
    queryKey: ['audit', applied],
    queryFn: ({ pageParam, signal }) => getAuditLog(applied, pageParam, signal),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next_before,
  })
  const entries = pages.data?.pages.flatMap((p) => p.entries) ?? []
  return (
    <Card title="Audit log">
      <form
        role="search"
        aria-label="Filter the audit log"
        className="mb-4 flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault()
          setParams({ q: q.trim() || null })
        }}
      >
        <Field>
          <Label htmlFor={`${id}-q`}>Text</Label>
          <Input
            id={`${id}-q`}
            value={q}
            placeholder="an email, a route, a reason"
            onChange={(e) => setQ(e.target.value)}
          />
        </Field>
        <Field>
          <Label htmlFor={`${id}-outcome`}>Outcome</Label>
          <Select
            id={`${id}-outcome`}
            value={applied.outcome}
            onChange={(e) => setParams({ outcome: e.target.value || null })}
          >
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="refused">refused</option>
            <option value="failed">failed</option>
          </Select>
        </Field>
        <Button type="submit">Search</Button>
        {(applied.actor !== '' || applied.action !== '') && (
          <Button type="button" onClick={() => setParams({ actor: null, action: null })}>
            Clear {applied.actor !== '' ? `actor ${applied.actor}` : `action ${applied.action}`}
          </Button>
        )}
        <span className="ml-auto flex gap-3 text-sm">
          <a className="underline" href={auditExportURL(applied, 'csv')} download>
            Export CSV
          </a>
          <a className="underline" href={auditExportURL(applied, 'ndjson')} download>
            Export NDJSON
          </a>
        </span>
      </form>
      {pages.error && <ErrorText>Could not read the audit log: {errorMessage(pages.error)}</ErrorText>}
      {pages.isPending ? (
        !pages.error && <Loading />
      ) : (
        <DataTable
          caption="Audit log entries, newest first"
          columns={COLUMNS}
          rows={entries}
          rowKey={(e) => e.id}
          empty="No entry matches."
        />
      )}
      <LoadOlder pages={pages} />
    </Card>
  )
}
