import type { ConnectionState } from '../live/useLiveFeed'

interface Props {
  connection: ConnectionState
  everConnected: boolean
}

const LOOK: Record<ConnectionState, { dot: string; text: string }> = {
  connected: { dot: 'bg-green-500', text: 'Connected' },
  reconnecting: { dot: 'bg-amber-500 motion-safe:animate-pulse', text: 'Reconnecting…' },
  offline: { dot: 'bg-red-500', text: 'Offline' },
}

/** The product's name and the live connection indicator, on every view. */
export function Header({ connection, everConnected }: Props) {
  const look = LOOK[connection]
  const text = connection === 'reconnecting' && !everConnected ? 'Connecting…' : look.text
  return (
    <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="mx-auto flex w-full max-w-[120rem] items-center justify-between gap-4 px-4 py-3 sm:px-6 lg:px-8">
        <a
          href="#/"
          className="flex min-w-0 items-baseline gap-3 rounded focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400"
        >
          <span className="text-xl font-bold tracking-tight text-slate-900 dark:text-slate-50">Pulse</span>
          <span className="hidden truncate text-xs text-slate-600 sm:inline dark:text-slate-400">
            Kafka events, live
          </span>
        </a>
        <div
          className="flex shrink-0 items-center gap-2 text-xs text-slate-700 dark:text-slate-300"
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
