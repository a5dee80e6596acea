import { useState } from 'react'
import { Charts } from './components/Charts'
import { ConsumerGroup } from './components/ConsumerGroup'
import { Header } from './components/Header'
import { Instructions } from './components/Instructions'
import { InteractiveActions } from './components/InteractiveActions'
import { LiveFeed } from './components/LiveFeed'
import { QueueMonitor } from './components/QueueMonitor'
import { Statistics } from './components/Statistics'
import { sessionId, userId } from './identity'
import { useLiveFeed } from './live/useLiveFeed'

/** The dashboard page. */
export function App() {
  const feed = useLiveFeed()
  const [user] = useState(userId)
  const [session] = useState(sessionId)
  return (
    <div className="min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <Header connection={feed.connection} everConnected={feed.everConnected} />
      <main className="mx-auto flex max-w-5xl flex-col gap-6 px-4 py-6 sm:px-6">
        <InteractiveActions userId={user} sessionId={session} />
        <div className="grid gap-6 lg:grid-cols-3">
          <div className="min-w-0 lg:col-span-2">
            <LiveFeed events={feed.events} notShown={feed.notShown} />
          </div>
          <Statistics stats={feed.stats} />
        </div>
        <QueueMonitor live={feed.messages} resyncs={feed.resyncs} />
        <Charts series={feed.series} />
        <ConsumerGroup />
        <Instructions />
      </main>
    </div>
  )
}
