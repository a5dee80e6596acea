import type { ReactNode } from 'react'
import { count } from '../format'
import { typeStyle } from './eventStyle'

interface Props {
  /** Events per type. */
  counts: Record<string, number>
  /** What a type is called in the list: its label, or the type itself. */
  name: (type: string) => string
  /** Shown instead of an empty list. */
  empty: ReactNode
}

/** Events per type, most first, each with a bar in its type's colour (the dashboard's statistics, a user's page). */
export function TypeCounts({ counts, name, empty }: Props) {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  if (rows.length === 0) return empty
  const max = Math.max(1, ...rows.map(([, n]) => n))
  return (
    <ul className="space-y-2" aria-label="Events per type">
      {rows.map(([type, n]) => {
        const s = typeStyle(type)
        return (
          <li key={type} className="text-xs">
            <div className="flex items-center gap-2">
              <span className="h-2.5 w-2.5 shrink-0 rounded-full" style={{ background: s.color }} aria-hidden="true" />
              <span className="min-w-0 flex-1 truncate">{name(type)}</span>
              <span className="font-medium tabular-nums">{count(n)}</span>
            </div>
            <div className="mt-1 h-1 rounded bg-slate-100 dark:bg-slate-800" aria-hidden="true">
              <div className="h-1 rounded" style={{ width: `${(n / max) * 100}%`, background: s.color }} />
            </div>
          </li>
        )
      })}
    </ul>
  )
}
