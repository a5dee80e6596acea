import { useQuery } from '@tanstack/react-query'
import { consumerMetricsQuery } from '../api/queries'
import { clockTime, count, duration } from '../format'
import { Panel } from './Panel'

const POLL_MS = 2000

const TH = 'px-2 py-1 text-left text-[11px] font-medium text-slate-500 dark:text-slate-400'
const TD = 'px-2 py-1 text-xs tabular-nums'

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
    <Panel
      title="Consumer Group"
      actions={
        metrics && (
          <span className="text-xs text-slate-500 dark:text-slate-400">
            {metrics.group} on {metrics.topic} · total lag{' '}
            <strong className="text-slate-900 dark:text-slate-100">{count(metrics.total_lag)}</strong>
          </span>
        )
      }
    >
      {error && (
        <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-300">
          Could not load the consumer group: {error}
        </p>
      )}
      {metrics === null ? (
        !error && <p className="text-sm text-slate-500 dark:text-slate-400">Loading…</p>
      ) : (
        <div className="grid gap-4 lg:grid-cols-3">
          <div className="overflow-x-auto lg:col-span-2">
            <table className="w-full">
              <caption className="mb-1 text-left text-sm font-medium">Members</caption>
              <thead>
                <tr>
                  <th className={TH}>Consumer</th>
                  <th className={TH}>Partitions</th>
                  <th className={TH}>Processed</th>
                  <th className={TH}>Failed</th>
                  <th className={TH}>Retried</th>
                  <th className={TH}>DLQ</th>
                  <th className={TH}>Avg</th>
                  <th className={TH}>In flight</th>
                  <th className={TH}>Last commit</th>
                </tr>
              </thead>
              <tbody>
                {metrics.consumers.length === 0 ? (
                  <tr>
                    <td colSpan={9} className={`${TD} text-slate-500`}>
                      No members
                    </td>
                  </tr>
                ) : (
                  metrics.consumers.map((c) => (
                    <tr key={c.consumer_id} className="border-t border-slate-100 dark:border-slate-800">
                      <td className={`${TD} font-mono`}>{c.consumer_id}</td>
                      <td className={TD}>{c.partitions.length ? c.partitions.join(', ') : '—'}</td>
                      <td className={TD}>{count(c.processed)}</td>
                      <td className={TD}>{count(c.failed)}</td>
                      <td className={TD}>{count(c.retried)}</td>
                      <td className={TD}>{count(c.dead_lettered)}</td>
                      <td className={TD}>{duration(c.avg_processing_time_ms)}</td>
                      <td className={TD}>{count(c.in_flight)}</td>
                      <td className={TD}>{clockTime(c.last_commit_at)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
          <div className="overflow-x-auto">
            <table className="w-full">
              <caption className="mb-1 text-left text-sm font-medium">Lag per partition</caption>
              <thead>
                <tr>
                  <th className={TH}>Partition</th>
                  <th className={TH}>Committed</th>
                  <th className={TH}>End</th>
                  <th className={TH}>Lag</th>
                </tr>
              </thead>
              <tbody>
                {metrics.partitions.map((p) => (
                  <tr key={p.partition} className="border-t border-slate-100 dark:border-slate-800">
                    <td className={TD}>{p.partition}</td>
                    <td className={TD}>{p.committed_offset < 0 ? '—' : count(p.committed_offset)}</td>
                    <td className={TD}>{count(p.end_offset)}</td>
                    <td className={`${TD} ${p.lag > 0 ? 'font-semibold text-amber-700 dark:text-amber-300' : ''}`}>
                      {count(p.lag)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </Panel>
  )
}
