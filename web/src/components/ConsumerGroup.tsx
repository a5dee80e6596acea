import { useQuery } from '@tanstack/react-query'
import { consumerMetricsQuery } from '../api/queries'
import type { ConsumerStats, PartitionLag } from '../api/schema'
import { clockTime, count, duration } from '../format'
import { Card, CardNote } from './ui/Card'
import { ErrorText, Loading } from './ui/State'
import { DataTable, type Column } from './ui/Table'

const POLL_MS = 2000

const MEMBER_COLUMNS: readonly Column<ConsumerStats>[] = [
  { header: 'Consumer', cell: (c) => c.consumer_id, className: 'font-mono' },
  { header: 'Partitions', cell: (c) => (c.partitions.length ? c.partitions.join(', ') : '—') },
  { header: 'Processed', cell: (c) => count(c.processed) },
  { header: 'Failed', cell: (c) => count(c.failed) },
  { header: 'Retried', cell: (c) => count(c.retried) },
  { header: 'DLQ', cell: (c) => count(c.dead_lettered) },
  { header: 'Avg', cell: (c) => duration(c.avg_processing_time_ms) },
  { header: 'In flight', cell: (c) => count(c.in_flight) },
  { header: 'Last commit', cell: (c) => clockTime(c.last_commit_at) },
]

const LAG_COLUMNS: readonly Column<PartitionLag>[] = [
  { header: 'Partition', cell: (p) => p.partition },
  { header: 'Committed', cell: (p) => (p.committed_offset < 0 ? '—' : count(p.committed_offset)) },
  { header: 'End', cell: (p) => count(p.end_offset) },
  {
    header: 'Lag',
    cell: (p) => count(p.lag),
    className: (p) => (p.lag > 0 ? 'font-semibold text-amber-800 dark:text-amber-300' : ''),
  },
]

interface Props {
  pollMs?: number
}

/** The consumer group: its members with their counters, and the lag per partition, polled every 2 s. */
export function ConsumerGroup({ pollMs = POLL_MS }: Props) {
  // Polled while the tab is visible; a failed poll keeps the last answer.
  const q = useQuery(consumerMetricsQuery(pollMs))
  const metrics = q.data ?? null
  const error = q.error === null ? null : q.error.message

  return (
    <Card
      title="Consumer Group"
      actions={
        metrics && (
          <CardNote>
            {metrics.group} on {metrics.topic} · total lag{' '}
            <strong className="text-slate-900 dark:text-slate-100">{count(metrics.total_lag)}</strong>
          </CardNote>
        )
      }
    >
      {error && <ErrorText>Could not load the consumer group: {error}</ErrorText>}
      {metrics === null ? (
        !error && <Loading />
      ) : (
        <div className="grid gap-4 lg:grid-cols-3">
          <div className="min-w-0 lg:col-span-2">
            <DataTable
              caption="Members"
              showCaption
              columns={MEMBER_COLUMNS}
              rows={metrics.consumers}
              rowKey={(c) => c.consumer_id}
              empty="No members"
            />
          </div>
          <DataTable
            caption="Lag per partition"
            showCaption
            columns={LAG_COLUMNS}
            rows={metrics.partitions}
            rowKey={(p) => p.partition}
          />
        </div>
      )}
    </Card>
  )
}
