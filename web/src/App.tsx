import { useEffect, useRef } from 'react'
import { whoami } from './api/accounts'
import { Header } from './components/Header'
import { INSIGHTS_PAGES, InsightsNav, insightsPathOf } from './components/InsightsNav'
import { Nav } from './components/Nav'
import { TimelineDialog } from './components/TimelineDialog'
import { Empty } from './components/ui/State'
import { useAllowed } from './hooks/role'
import { userIdOf, useRouteParams, useSubpath, useView, VIEWS, type View } from './hooks/route'
import type { ActiveSession } from './hooks/session'
import { useLiveFeed } from './live/useLiveFeed'
import { useLiveTotals } from './live/useLiveTotals'
import { AccountsPage } from './pages/AccountsPage'
import { AlertsPage } from './pages/AlertsPage'
import { AuditPage } from './pages/AuditPage'
import { ConsumersView } from './pages/ConsumersView'
import { Dashboard } from './pages/Dashboard'
import { DLQView } from './pages/DLQView'
import { ExplorerView } from './pages/ExplorerView'
import { FunnelsPage } from './pages/FunnelsPage'
import { InsightsPage } from './pages/InsightsPage'
import { LoadView } from './pages/LoadView'
import { DeliveryPage } from './pages/DeliveryPage'
import { OrderingView } from './pages/OrderingView'
import { PlanPage } from './pages/PlanPage'
import { PrivacyPage } from './pages/PrivacyPage'
import { RetentionPage } from './pages/RetentionPage'
import { LivePage } from './pages/LivePage'
import { SavedInsightsPage } from './pages/SavedInsightsPage'
import { SourcesPage } from './pages/SourcesPage'
import { UserPage } from './pages/UserPage'

/** Each view's heading, and the line under it. */
const HEADINGS: Record<View, { title: string; lead: string }> = {
  dashboard: { title: 'Kafka Real-time Dashboard', lead: 'Live user action tracking with WebSocket updates' },
  insights: {
    title: 'Insights',
    lead: 'What your users did: events over time, the steps they went through, and whether they came back',
  },
  consumers: { title: 'Consumers', lead: 'The consumer group: members, partitions, lag and its last hour' },
  alerts: {
    title: 'Alerts',
    lead: 'Rules on lag, dead letters, errors, consumers and events, their webhooks and history',
  },
  ordering: { title: 'Ordering', lead: 'Keys held back so each user’s actions stay in order' },
  dlq: { title: 'Dead letters', lead: 'Records that failed every attempt: inspect them, replay them' },
  explorer: { title: 'Explorer', lead: 'Stored events by user, type, element, session, time and text' },
  load: { title: 'Load runs', lead: 'Generated traffic: start a run, watch it, stop it' },
  sources: { title: 'Sources', lead: 'The sites and apps that send events with pulse.js, and their write keys' },
  delivery: { title: 'Delivery', lead: 'What the browsers numbered, what was stored, doubled or never arrived' },
  plan: { title: 'Tracking plan', lead: 'The events your sites may send, their properties, and what broke the plan' },
  users: { title: 'User', lead: 'One user: when they came, what they did, their sessions and events' },
  accounts: { title: 'Accounts', lead: 'Who may sign in and with which role, and the API tokens of scripts and CI' },
  audit: { title: 'Audit log', lead: 'Every sign-in and change: who, when, from where, and how it ended' },
  privacy: { title: 'Privacy', lead: 'Personal fields masked for viewers and operators, and the erasure of a user' },
}

// A socket the server closed because its client may no longer read it
// asks /api/auth/me/ before reconnecting: a 401 there ends the session, in
// the server's words, and the sign-in page takes over.
const LIVE = { onSignInAgain: () => whoami({ announce: true }).catch(() => undefined) }

/**
 * The app once the server has let the user in (Root.tsx): the live
 * dashboard as the home view and the operator console's views, chosen by
 * the location hash. The live socket stays open across views so the
 * dashboard is current when the user comes back. The open timeline is in
 * the URL too (timeline=<event id>), so a link shows it.
 */
export function App({ session }: { session: ActiveSession }) {
  const feed = useLiveFeed(LIVE)
  const accounts = useAllowed('admin')
  // One tick feeds every live figure on the page, so they agree.
  const totals = useLiveTotals(feed.series)
  const view = useView()
  const subpath = useSubpath()
  const insightsPath = insightsPathOf(subpath)
  const userId = view === 'users' ? userIdOf(subpath) : ''
  const knownTypes = Object.keys(feed.stats?.event_types ?? {})
  const [params, setParams] = useRouteParams()
  const timeline = params.get('timeline')
  // Replaced, not pushed: the drawer is an overlay on the view, not a step of its own.
  const openTimeline = (eventId: string) => setParams({ timeline: eventId }, { replace: true })
  const main = useRef<HTMLElement>(null)
  const heading = HEADINGS[view]

  useEffect(() => {
    const label = VIEWS.find((v) => v.view === view)?.label ?? 'Dashboard'
    const sub =
      view === 'insights' && insightsPath !== '' ? INSIGHTS_PAGES.find((p) => p.path === insightsPath) : undefined
    document.title =
      view === 'dashboard'
        ? 'Pulse — Kafka Real-time Dashboard'
        : view === 'users'
          ? `Pulse — User ${userId}`
          : `Pulse — ${sub ? `${sub.label} — ` : ''}${label}`
  }, [view, insightsPath, userId])

  return (
    <div className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
      {/* The first tab stop. Not a #fragment: the hash is the router's, so the link moves focus itself. */}
      <a
        href="#/"
        onClick={(e) => {
          e.preventDefault()
          main.current?.focus()
        }}
        className="sr-only z-50 rounded-md bg-blue-700 px-4 py-2 text-sm font-medium text-white focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-700"
      >
        Skip to content
      </a>
      <Header connection={feed.connection} everConnected={feed.everConnected} session={session} />
      <Nav current={view} />
      <main
        ref={main}
        tabIndex={-1}
        className="mx-auto flex w-full max-w-[120rem] flex-col gap-6 px-4 py-6 outline-none sm:px-6 lg:px-8"
      >
        <div>
          <h1 id="page-title" className="text-2xl font-semibold tracking-tight">
            {heading.title}
          </h1>
          <p className="text-sm text-slate-600 dark:text-slate-400">{heading.lead}</p>
        </div>
        {view === 'dashboard' && <Dashboard feed={feed} totals={totals} onOpenTimeline={openTimeline} />}
        {view === 'insights' && <InsightsNav current={insightsPath} />}
        {view === 'insights' && insightsPath === '' && (
          <InsightsPage knownTypes={knownTypes} stored={feed.stats?.total_events ?? null} />
        )}
        {view === 'insights' && insightsPath === 'funnels' && <FunnelsPage knownTypes={knownTypes} />}
        {view === 'insights' && insightsPath === 'retention' && <RetentionPage knownTypes={knownTypes} />}
        {view === 'insights' && insightsPath === 'live' && <LivePage stored={feed.stats?.total_events ?? null} />}
        {view === 'insights' && insightsPath === 'saved' && <SavedInsightsPage />}
        {view === 'consumers' && <ConsumersView />}
        {view === 'alerts' && <AlertsPage />}
        {view === 'ordering' && <OrderingView onOpenTimeline={openTimeline} />}
        {view === 'dlq' && <DLQView onOpenTimeline={openTimeline} />}
        {view === 'explorer' && <ExplorerView onOpenTimeline={openTimeline} />}
        {view === 'load' && <LoadView />}
        {view === 'sources' && <SourcesPage />}
        {view === 'delivery' && <DeliveryPage />}
        {view === 'plan' && <PlanPage />}
        {view === 'users' && <UserPage key={userId} userId={userId} onOpenTimeline={openTimeline} />}
        {view === 'accounts' && (accounts.allowed ? <AccountsPage /> : <Empty>{accounts.why}</Empty>)}
        {view === 'audit' && (accounts.allowed ? <AuditPage /> : <Empty>{accounts.why}</Empty>)}
        {view === 'privacy' && (accounts.allowed ? <PrivacyPage /> : <Empty>{accounts.why}</Empty>)}
      </main>
      {timeline !== null && (
        <TimelineDialog eventId={timeline} onClose={() => setParams({ timeline: null }, { replace: true })} />
      )}
    </div>
  )
}
