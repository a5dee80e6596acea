import { Panel } from '../components/Panel'
import { count } from '../format'
import { useOrdering } from '../hooks/resources'
import { BUTTON_SMALL, ErrorText, ROW, TD, TH } from '../console/ui'

interface Props {
  pollMs?: number
  /** Opens the timeline of a message. */
  onOpenTimeline?: (eventId: string) => void
}

/** Keys held back by per-key ordering right now, and how far each partition has got. */
export function OrderingView({ pollMs = 2000, onOpenTimeline }: Props) {
  const { data, error } = useOrdering(pollMs)
  return (
    <div className="flex flex-col gap-6">
      <Panel
        title="Held Keys"
        actions={
          data && (
            <span className="text-xs text-slate-500 dark:text-slate-400">
              {count(data.held_keys_total)} held in all
              {data.held_keys_total > data.held_keys.length ? `, ${count(data.held_keys.length)} shown` : ''}
            </span>
          )
        }
      >
        <p className="mb-3 text-xs text-slate-500 dark:text-slate-400">
          A key is held while one of its records is delayed or retrying: later records with the same key wait behind it
          so each user's actions stay in order.
        </p>
        {error && <ErrorText>Could not load the ordering state: {error}</ErrorText>}
        {data === null ? (
          !error && <p className="text-sm text-slate-500 dark:text-slate-400">Loading…</p>
        ) : (
          <div className="relative overflow-x-auto">
            <table className="w-full">
              <caption className="sr-only">Held keys</caption>
              <thead>
                <tr>
                  <th className={TH}>Key</th>
                  <th className={TH}>Partition</th>
                  <th className={TH}>Offset</th>
                  <th className={TH}>Status</th>
                  <th className={TH}>Waiting behind</th>
                  <th className={TH}>Consumer</th>
                  <th className={TH}>
                    <span className="sr-only">Timeline</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.held_keys.length === 0 ? (
                  <tr>
                    <td colSpan={7} className={`${TD} text-slate-500`}>
                      No key is held back right now.
                    </td>
                  </tr>
                ) : (
                  data.held_keys.map((k) => (
                    <tr key={`${k.partition}/${k.offset}`} className={ROW}>
                      <td className={`${TD} font-mono`}>{k.key || '—'}</td>
                      <td className={TD}>{k.partition}</td>
                      <td className={TD}>{count(k.offset)}</td>
                      <td className={TD}>{k.status}</td>
                      <td
                        className={`${TD} ${k.waiting > 0 ? 'font-semibold text-amber-700 dark:text-amber-300' : ''}`}
                      >
                        {count(k.waiting)}
                      </td>
                      <td className={`${TD} font-mono`}>{k.consumer_id || '—'}</td>
                      <td className={TD}>
                        {onOpenTimeline && k.event_id && (
                          <button
                            type="button"
                            aria-label={`Timeline of ${k.key} at offset ${k.offset}`}
                            className={BUTTON_SMALL}
                            onClick={() => onOpenTimeline(k.event_id)}
                          >
                            Timeline
                          </button>
                        )}
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      <Panel title="Partition Progress">
        {data !== null && (
          <div className="relative overflow-x-auto">
            <table className="w-full">
              <caption className="mb-1 text-left text-sm font-medium">Lowest unfinished offset per partition</caption>
              <thead>
                <tr>
                  <th className={TH}>Partition</th>
                  <th className={TH}>Consumer</th>
                  <th className={TH}>Lowest unfinished</th>
                  <th className={TH}>Committed</th>
                </tr>
              </thead>
              <tbody>
                {data.partitions.length === 0 ? (
                  <tr>
                    <td colSpan={4} className={`${TD} text-slate-500`}>
                      No partition is assigned in this process.
                    </td>
                  </tr>
                ) : (
                  data.partitions.map((p) => (
                    <tr key={p.partition} className={ROW}>
                      <td className={TD}>{p.partition}</td>
                      <td className={`${TD} font-mono`}>{p.consumer_id || '—'}</td>
                      <td className={TD}>
                        {p.lowest_unfinished === null ? '— (none in flight)' : count(p.lowest_unfinished)}
                      </td>
                      <td className={TD}>{p.committed < 0 ? '—' : count(p.committed)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
    </div>
  )
}
