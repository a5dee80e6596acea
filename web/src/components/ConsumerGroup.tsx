import { useState } from 'react'
import { count } from '../format'
import { useConsumers } from '../hooks/resources'
import { MembersTable, PartitionsTable } from './GroupTables'
import { Card, CardNote } from './ui/Card'
import { ErrorText, Loading } from './ui/State'
import { Tabs } from './ui/Tabs'

const POLL_MS = 2000

interface Props {
  pollMs?: number
}

type Tab = 'members' | 'partitions'

/**
 * The consumer group on the dashboard: its members and its lag per
 * partition, one at a time, drawn by the same tables as the Consumers page
 * (which shows both, the state and the lag history), polled every 2 s.
 */
export function ConsumerGroup({ pollMs = POLL_MS }: Props) {
  // Polled while the tab is visible; a failed poll keeps the last answer.
  const { data, error } = useConsumers(pollMs)
  const [tab, setTab] = useState<Tab>('members')

  return (
    <Card
      title="Consumer Group"
      actions={
        data && (
          <CardNote>
            {data.group} on {data.topic} · total lag{' '}
            <strong className="text-slate-900 dark:text-slate-100">{count(data.total_lag)}</strong> ·{' '}
            <a href="#/consumers" className="text-blue-700 underline dark:text-blue-300">
              details
            </a>
          </CardNote>
        )
      }
    >
      {error && <ErrorText>Could not load the consumer group: {error}</ErrorText>}
      {data === null ? (
        !error && <Loading />
      ) : (
        <Tabs
          label="Consumer group"
          tabs={[
            { key: 'members', label: `Members (${count(data.members.length)})` },
            { key: 'partitions', label: `Lag per partition (${count(data.partitions.length)})` },
          ]}
          selected={tab}
          onSelect={setTab}
        >
          {tab === 'members' ? (
            <MembersTable members={data.members} showCaption={false} />
          ) : (
            <PartitionsTable partitions={data.partitions} showCaption={false} />
          )}
        </Tabs>
      )}
    </Card>
  )
}
