import { useEffect } from 'react'
import { Header } from './components/Header'
import { Nav } from './components/Nav'
import { TimelineDialog } from './components/TimelineDialog'
import { useRouteParams, useView, VIEWS } from './hooks/route'
import { useLiveFeed } from './live/useLiveFeed'
import { useLiveTotals } from './live/useLiveTotals'
import { ConsumersView } from './pages/ConsumersView'
import { Dashboard } from './pages/Dashboard'
import { DLQView } from './pages/DLQView'
import { ExplorerView } from './pages/ExplorerView'
import { LoadView } from './pages/LoadView'
import { OrderingView } from './pages/OrderingView'

/**
 * The app: the live dashboard as the home view and the operator console's
 * views, chosen by the location hash. The live socket stays open across
 * views so the dashboard is current when the user comes back. The open
 * timeline is in the URL too (timeline=<event id>), so a link shows it.
 */
export function App() {
  const feed = useLiveFeed()
  // One tick feeds every live figure on the page, so they agree.
  const totals = useLiveTotals(feed.series)
  const view = useView()
  const [params, setParams] = useRouteParams()
  const timeline = params.get('timeline')
  // Replaced, not pushed: the drawer is an overlay on the view, not a step of its own.
  const openTimeline = (eventId: string) => setParams({ timeline: eventId }, { replace: true })

  useEffect(() => {
    const label = VIEWS.find((v) => v.view === view)?.label ?? 'Dashboard'
    document.title = view === 'dashboard' ? 'Pulse — Kafka Real-time Dashboard' : `Pulse — ${label}`
  }, [view])

  return (
    <div className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
      <Header connection={feed.connection} everConnected={feed.everConnected} />
      <Nav current={view} />
      <main className="mx-auto flex max-w-5xl flex-col gap-6 px-4 py-6 sm:px-6">
        {view === 'dashboard' && <Dashboard feed={feed} totals={totals} onOpenTimeline={openTimeline} />}
        {view === 'consumers' && <ConsumersView />}
        {view === 'ordering' && <OrderingView onOpenTimeline={openTimeline} />}
        {view === 'dlq' && <DLQView onOpenTimeline={openTimeline} />}
        {view === 'explorer' && <ExplorerView onOpenTimeline={openTimeline} />}
        {view === 'load' && <LoadView />}
      </main>
      {timeline !== null && (
        <TimelineDialog eventId={timeline} onClose={() => setParams({ timeline: null }, { replace: true })} />
      )}
    </div>
  )
}
