import { useEffect, useId, useState, type ReactNode } from 'react'
import { clockTime, elapsed } from '../format'

interface Props {
  /** Since when (epoch ms) the data is stale (useLiveFeed's staleSince); null while it is fresh. */
  since: number | null
  /** Classes of the whole block (its place in the page's grid). */
  className?: string
  /** Classes of the block holding the panels (their own grid). */
  panelsClassName?: string
  /**
   * Whether this block carries the stale line; a second block of live panels
   * elsewhere on the page only dims, so the line is said once.
   */
  notice?: boolean
  children: ReactNode
}

/**
 * Wraps the panels fed by the live socket: while it is down they are dimmed
 * under a line that says since when they are stale and how long ago that
 * was, counting up every second.
 */
export function StaleData({
  since,
  className = '',
  panelsClassName = 'flex flex-col gap-6',
  notice = true,
  children,
}: Props) {
  const id = useId()
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (since === null) return
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [since])
  const stale = since !== null
  return (
    <div className={`flex min-w-0 flex-col gap-6 ${className}`}>
      {stale && notice && (
        <div
          id={id}
          className="flex flex-wrap items-baseline gap-x-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-200"
        >
          {/* Announced once; the counter beside it is not, or it would speak every second. */}
          <p role="status" className="font-medium">
            Stale since {clockTime(new Date(since).toISOString())}
          </p>
          <p>disconnected {elapsed(Math.max(now, since) - since)} ago; the figures below are not updating.</p>
        </div>
      )}
      <div
        className={`${panelsClassName} transition ${stale ? 'opacity-50 grayscale' : ''}`}
        aria-describedby={stale && notice ? id : undefined}
      >
        {children}
      </div>
    </div>
  )
}
