import { useState } from 'react'
import { Charts } from '../components/Charts'
import { ConsumerGroup } from '../components/ConsumerGroup'
import { Instructions } from '../components/Instructions'
import { InteractiveActions } from '../components/InteractiveActions'
import { LiveFeed } from '../components/LiveFeed'
import { QueueMonitor } from '../components/QueueMonitor'
import { StaleData } from '../components/StaleData'
import { Statistics } from '../components/Statistics'
import { sessionId, userId } from '../identity'
import type { LiveTotals } from '../live/series'
import type { LiveFeed as Feed } from '../live/useLiveFeed'

interface Props {
  /** The live socket's state, owned by App so it stays open across views. */
  feed: Feed
  totals: LiveTotals
  onOpenTimeline: (eventId: string) => void
}

/** The live dashboard: actions, the live panels (dimmed while stale), the consumer group. */
export function Dashboard({ feed, totals, onOpenTimeline }: Props) {
  const [user] = useState(userId)
  const [session] = useState(sessionId)
  return (
    <>
      <InteractiveActions userId={user} sessionId={session} />
      <StaleData since={feed.staleSince}>
        <div className="grid gap-6 lg:grid-cols-3">
          <div className="min-w-0 lg:col-span-2">
            <LiveFeed events={feed.events} notShown={feed.notShown} onOpenTimeline={onOpenTimeline} />
          </div>
          <Statistics stats={feed.stats} live={totals} />
        </div>
        <QueueMonitor live={feed.messages} resyncs={feed.resyncs} onOpenTimeline={onOpenTimeline} />
        <Charts series={feed.series} markers={feed.markers} eventsPerSecond={totals.eventsPerSecond} />
      </StaleData>
      <ConsumerGroup />
      <Instructions />
    </>
  )
}
