import { useEffect, useState } from 'react'
import { Charts } from './components/Charts'
import { ConsumerGroup } from './components/ConsumerGroup'
import { Header } from './components/Header'
import { Instructions } from './components/Instructions'
import { InteractiveActions } from './components/InteractiveActions'
import { LiveFeed } from './components/LiveFeed'
import { QueueMonitor } from './components/QueueMonitor'
import { StaleData } from './components/StaleData'
import { Statistics } from './components/Statistics'
import { ConsumersView } from './pages/ConsumersView'
import { DLQView } from './pages/DLQView'
import { ExplorerView } from './pages/ExplorerView'
import { LoadView } from './pages/LoadView'
import { Nav } from './components/Nav'
import { OrderingView } from './pages/OrderingView'
import { VIEWS, useView } from './hooks/route'
import { TimelineDialog } from './components/TimelineDialog'
import { sessionId, userId } from './identity'
import { useLiveFeed } from './live/useLiveFeed'
import { useLiveTotals } from './live/useLiveTotals'

/**
 * The app: the live dashboard as the home view and the operator console's
 * views, chosen by the location hash. The live socket stays open across
 * views so the dashboard is current when the user comes back.
 */
export function App() {
  const feed = useLiveFeed()
  // One tick feeds every live figure on the page, so they agree.
  const totals = useLiveTotals(feed.series)
  const view = useView()
  const [user] = useState(userId)
  const [session] = useState(sessionId)
  const [timeline, setTimeline] = useState<string | null>(null)

  useEffect(() => {
    const label = VIEWS.find((v) => v.view === view)?.label ?? 'Dashboard'
    document.title = view === 'dashboard' ? 'Pulse — Kafka Real-time Dashboard' : `Pulse — ${label}`
  }, [view])

  return (
    <div className="min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <Header connection={feed.connection} everConnected={feed.everConnected} />
      <Nav current={view} />
      <main className="mx-auto flex max-w-5xl flex-col gap-6 px-4 py-6 sm:px-6">
        {view === 'dashboard' && (
          <>
            <InteractiveActions userId={user} sessionId={session} />
            <StaleData since={feed.staleSince}>
              <div className="grid gap-6 lg:grid-cols-3">
                <div className="min-w-0 lg:col-span-2">
                  <LiveFeed events={feed.events} notShown={feed.notShown} onOpenTimeline={setTimeline} />
                </div>
                <Statistics stats={feed.stats} live={totals} />
              </div>
              <QueueMonitor live={feed.messages} resyncs={feed.resyncs} onOpenTimeline={setTimeline} />
              <Charts series={feed.series} markers={feed.markers} eventsPerSecond={totals.eventsPerSecond} />
            </StaleData>
            <ConsumerGroup />
            <Instructions />
          </>
        )}
        {view === 'consumers' && <ConsumersView />}
        {view === 'ordering' && <OrderingView onOpenTimeline={setTimeline} />}
        {view === 'dlq' && <DLQView onOpenTimeline={setTimeline} />}
        {view === 'explorer' && <ExplorerView onOpenTimeline={setTimeline} />}
        {view === 'load' && <LoadView />}
      </main>
      {timeline !== null && <TimelineDialog eventId={timeline} onClose={() => setTimeline(null)} />}
    </div>
  )
}
