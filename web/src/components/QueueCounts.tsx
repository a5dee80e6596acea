import type { QueueStats, Status } from '../api/schema'
import { count } from '../format'

const ORDER: readonly Status[] = ['queued', 'processing', 'retrying', 'completed', 'failed', 'dead_lettered']

/** The processing log's messages per status, as the server counts them (stats_update). */
export function QueueCounts({ stats }: { stats: QueueStats | null }) {
  if (stats === null) return null
  return (
    <dl aria-label="Messages per status" className="mb-3 flex flex-wrap gap-x-4 gap-y-1 text-xs tabular-nums">
      {ORDER.map((s) => (
        <div key={s} className="flex gap-1">
          <dt className="text-slate-600 dark:text-slate-400">{s.replace('_', ' ')}</dt>
          <dd className="font-semibold text-slate-900 dark:text-slate-100">{count(stats[s])}</dd>
        </div>
      ))}
    </dl>
  )
}
