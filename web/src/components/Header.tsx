import type { ActiveSession } from '../hooks/session'
import type { ConnectionState } from '../live/useLiveFeed'
import { SessionControls } from './SessionControls'

interface Props {
  connection: ConnectionState
  everConnected: boolean
  session: ActiveSession
}

const LOOK: Record<ConnectionState, { dot: string; text: string }> = {
  connected: { dot: 'bg-green-500', text: 'Connected' },
  reconnecting: { dot: 'bg-amber-500 motion-safe:animate-pulse', text: 'Reconnecting…' },
  offline: { dot: 'bg-red-500', text: 'Offline' },
}

/** The product's name, the live connection indicator and who is signed in, on every view. */
export function Header({ connection, everConnected, session }: Props) {
  const look = LOOK[connection]
  const text = connection === 'reconnecting' && !everConnected ? 'Connecting…' : look.text
  return (
    <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="mx-auto flex w-full max-w-[120rem] flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3 sm:px-6 lg:px-8">
        <a
          href="#/"
          className="flex min-w-0 items-baseline gap-3 rounded focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400"
        >
          <span className="text-xl font-bold tracking-tight text-slate-900 dark:text-slate-50">Pulse</span>
          <span className="hidden truncate text-xs text-slate-600 sm:inline dark:text-slate-400">
            Kafka events, live
          </span>
        </a>
        <div className="flex min-w-0 flex-wrap items-center justify-end gap-x-4 gap-y-2">
          <SessionControls session={session} />
          <div
            className="flex shrink-0 items-center gap-2 text-xs text-slate-700 dark:text-slate-300"
            role="status"
            aria-live="polite"
          >
            <span className={`inline-block h-2 w-2 rounded-full ${look.dot}`} aria-hidden="true" />
            <span>{text}</span>
          </div>
        </div>
      </div>
    </header>
  )
}
