// The consumer group's members and partitions, drawn by one component for
// the dashboard's card and the Consumers page alike, from GET /api/consumers/.

import type { MemberView, PartitionView } from '../api/schema'
import { clockTime, count, seconds } from '../format'
import { DataTable, type Column } from './ui/Table'

const LAGGING = 'font-semibold text-amber-800 dark:text-amber-300'

/** A counter only this process knows: remote members show a dash. */
function local(n: number | undefined): string {
  return n === undefined ? '—' : count(n)
}

const MEMBER_COLUMNS: readonly Column<MemberView>[] = [
  {
    header: 'Client',
    cell: (m) => <span title={m.member_id}>{m.client_id || m.member_id}</span>,
    className: 'font-mono',
  },
  { header: 'Host', cell: (m) => m.host || '—' },
  { header: 'Partitions', cell: (m) => (m.partitions.length ? m.partitions.join(', ') : '—') },
  { header: 'Here', cell: (m) => (m.local ? 'this process' : 'remote') },
  { header: 'Processed', cell: (m) => local(m.processed) },
  { header: 'Retried', cell: (m) => local(m.retried) },
  { header: 'DLQ', cell: (m) => local(m.dead_lettered) },
  { header: 'In flight', cell: (m) => local(m.in_flight) },
  { header: 'Last commit', cell: (m) => clockTime(m.last_commit_at) },
]

const PARTITION_COLUMNS: readonly Column<PartitionView>[] = [
  { header: 'Partition', cell: (p) => p.partition },
  { header: 'Owner', cell: (p) => p.member || '—', className: 'font-mono' },
  { header: 'Committed', cell: (p) => (p.committed_offset < 0 ? '—' : count(p.committed_offset)) },
  { header: 'End', cell: (p) => count(p.end_offset) },
  { header: 'Lag', cell: (p) => count(p.lag), className: (p) => (p.lag > 0 ? LAGGING : '') },
  { header: 'Lag (s)', cell: (p) => seconds(p.lag_seconds) },
  { header: 'Lowest unfinished', cell: (p) => (p.lowest_unfinished === null ? '—' : count(p.lowest_unfinished)) },
]

/** The group's members: who they are, which partitions they own, and this process's counters. */
export function MembersTable({
  members,
  showCaption = true,
}: {
  members: readonly MemberView[]
  showCaption?: boolean
}) {
  return (
    <DataTable
      caption="Members"
      showCaption={showCaption}
      columns={MEMBER_COLUMNS}
      rows={members}
      rowKey={(m) => m.member_id}
      empty="No members: no consumer has joined the group."
    />
  )
}

/** The group's position on each partition: offsets, lag in records and seconds. */
export function PartitionsTable({
  partitions,
  showCaption = true,
}: {
  partitions: readonly PartitionView[]
  showCaption?: boolean
}) {
  return (
    <DataTable
      caption="Partitions"
      showCaption={showCaption}
      columns={PARTITION_COLUMNS}
      rows={partitions}
      rowKey={(p) => p.partition}
      empty="The topic has no partitions yet."
    />
  )
}
