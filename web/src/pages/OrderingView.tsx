import type { HeldKey, OrderingPartition } from '../api/schema'
import { Button } from '../components/ui/Button'
import { Card, CardNote } from '../components/ui/Card'
import { ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { count } from '../format'
import { useOrdering } from '../hooks/resources'
import { MaskedValue } from '../components/MaskedValue'

const WAITING = 'font-semibold text-amber-800 dark:text-amber-300'

function heldKeyColumns(onOpenTimeline?: (eventId: string) => void): Column<HeldKey>[] {
  return [
    { header: 'Key', cell: (k) => <MaskedValue value={k.key} />, className: 'font-mono' },
    { header: 'Partition', cell: (k) => k.partition },
    { header: 'Offset', cell: (k) => count(k.offset) },
    { header: 'Status', cell: (k) => k.status },
    { header: 'Waiting behind', cell: (k) => count(k.waiting), className: (k) => (k.waiting > 0 ? WAITING : '') },
    { header: 'Consumer', cell: (k) => k.consumer_id || '—', className: 'font-mono' },
    {
      header: 'Timeline',
      hideHeader: true,
      cell: (k) =>
        onOpenTimeline &&
        k.event_id && (
          <Button
            size="sm"
            aria-label={`Timeline of ${k.key} at offset ${k.offset}`}
            onClick={() => onOpenTimeline(k.event_id)}
          >
            Timeline
          </Button>
        ),
    },
  ]
}

const PARTITION_COLUMNS: readonly Column<OrderingPartition>[] = [
  { header: 'Partition', cell: (p) => p.partition },
  { header: 'Consumer', cell: (p) => p.consumer_id || '—', className: 'font-mono' },
  {
    header: 'Lowest unfinished',
    cell: (p) => (p.lowest_unfinished === null ? '— (none in flight)' : count(p.lowest_unfinished)),
  },
  { header: 'Committed', cell: (p) => (p.committed < 0 ? '—' : count(p.committed)) },
]

interface Props {
  pollMs?: number
  /** Opens the timeline of a message. */
  onOpenTimeline?: (eventId: string) => void
}

/** Keys held back by per-key ordering right now, and how far each partition has got. */
export function OrderingView({ pollMs = 2000, onOpenTimeline }: Props) {
  const { data, error } = useOrdering(pollMs)
  return (
    <div className="grid gap-6 xl:grid-cols-3">
      <Card
        title="Held Keys"
        className="xl:col-span-2"
        actions={
          data && (
            <CardNote>
              {count(data.held_keys_total)} held in all
              {data.held_keys_total > data.held_keys.length ? `, ${count(data.held_keys.length)} shown` : ''}
            </CardNote>
          )
        }
      >
        <p className="mb-3 text-xs text-slate-600 dark:text-slate-400">
          A key is held while one of its records is delayed or retrying: later records with the same key wait behind it
          so each user's actions stay in order.
        </p>
        {error && <ErrorText>Could not load the ordering state: {error}</ErrorText>}
        {data === null ? (
          !error && <Loading />
        ) : (
          <DataTable
            caption="Held keys"
            columns={heldKeyColumns(onOpenTimeline)}
            rows={data.held_keys}
            rowKey={(k) => `${k.partition}/${k.offset}`}
            empty="No key is held back right now."
          />
        )}
      </Card>
      <Card title="Partition Progress">
        {data === null ? (
          !error && <Loading />
        ) : (
          <DataTable
            caption="Lowest unfinished offset per partition"
            showCaption
            columns={PARTITION_COLUMNS}
            rows={data.partitions}
            rowKey={(p) => p.partition}
            empty="No partition is assigned in this process."
          />
        )}
      </Card>
    </div>
  )
}
