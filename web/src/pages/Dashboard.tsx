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
import { DEFAULT_LIMITS } from '../live/feed'
import type { LiveTotals } from '../live/series'
import type { LiveFeed as Feed } from '../live/useLiveFeed'
import { PinnedInsights } from './PinnedInsights'

interface Props {
  /** The live socket's state, owned by App so it stays open across views. */
  feed: Feed
  totals: LiveTotals
  onOpenTimeline: (eventId: string) => void
}

/**
 * The live dashboard. One column on a phone and a tablet; from 1280 px the
 * actions and the statistics sit in a side column beside the feed, the queue
 * and the charts, which go two across from 1536 px, so a wide screen shows
 * everything at once.
 */
export function Dashboard({ feed, totals, onOpenTimeline }: Props) {
  const [user] = useState(userId)
  const [session] = useState(sessionId)
  return (
    <div className="grid gap-6 xl:grid-cols-12">
      <div className="flex min-w-0 flex-col gap-6 xl:col-span-4 2xl:col-span-3">
        <InteractiveActions userId={user} sessionId={session} />
        <StaleData since={feed.staleSince} notice={false}>
          <Statistics stats={feed.stats} live={totals} />
        </StaleData>
        <Instructions />
      </div>
      <StaleData
        since={feed.staleSince}
        className="xl:col-span-8 2xl:col-span-9"
        panelsClassName="grid gap-6 2xl:grid-cols-2"
      >
        <div className="min-w-0">
          <LiveFeed
            events={feed.events}
            notShown={feed.notShown}
            sampled={feed.sampled}
            kept={DEFAULT_LIMITS.events}
            onOpenTimeline={onOpenTimeline}
          />
        </div>
        <div className="min-w-0">
          <QueueMonitor
            live={feed.messages}
            resyncs={feed.resyncs}
            onOpenTimeline={onOpenTimeline}
            counts={feed.stats?.queue ?? null}
          />
        </div>
        <div className="min-w-0 2xl:col-span-2">
          <Charts series={feed.series} markers={feed.markers} eventsPerSecond={totals.eventsPerSecond} />
        </div>
      </StaleData>
      <PinnedInsights className="min-w-0 xl:col-span-12" />
      <div className="min-w-0 xl:col-span-12">
        <ConsumerGroup />
      </div>
    </div>
  )
}
