import type { ConnectionState } from '../live/useLiveFeed'

interface Props {
  connection: ConnectionState
  everConnected: boolean
}

const LOOK: Record<ConnectionState, { dot: string; text: string }> = {
  connected: { dot: 'bg-green-500', text: 'Connected' },
  reconnecting: { dot: 'bg-amber-500 animate-pulse', text: 'Reconnecting…' },
  offline: { dot: 'bg-red-500', text: 'Offline' },
}

/** The page title and the live connection indicator. */
export function Header({ connection, everConnected }: Props) {
  const look = LOOK[connection]
  const text = connection === 'reconnecting' && !everConnected ? 'Connecting…' : look.text
  return (
    <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="mx-auto flex max-w-5xl items-center justify-between gap-4 px-4 py-3 sm:px-6">
        <div className="min-w-0">
          <h1 className="text-xl font-semibold text-slate-900 dark:text-slate-50">Kafka Real-time Dashboard</h1>
          <p className="text-xs text-slate-500 dark:text-slate-400">Live user action tracking with WebSocket updates</p>
        </div>
        <div
          className="flex shrink-0 items-center gap-2 text-xs text-slate-600 dark:text-slate-300"
          role="status"
          aria-live="polite"
        >
          <span className={`inline-block h-2 w-2 rounded-full ${look.dot}`} aria-hidden="true" />
          <span>{text}</span>
        </div>
      </div>
    </header>
  )
}
