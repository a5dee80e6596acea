import type { ReactNode } from 'react'

interface Props {
  /** The accessible name of the list. */
  label?: string
  items: readonly (readonly [string, ReactNode])[]
  /** Grid columns by width, e.g. "grid-cols-2 sm:grid-cols-4". */
  columns?: string
  className?: string
}

/**
 * Figures with their names (a description list): each pair in its own div,
 * so a figure is found by its name. Numbers use tabular figures so they do
 * not jitter as they change.
 */
export function StatList({ label, items, columns = 'grid-cols-2 sm:grid-cols-4', className = '' }: Props) {
  return (
    <dl aria-label={label} className={`grid gap-3 ${columns} ${className}`}>
      {items.map(([k, v]) => (
        <div key={k} className="min-w-0">
          <dt className="text-xs text-slate-600 dark:text-slate-400">{k}</dt>
          <dd className="text-sm font-medium break-words tabular-nums">{v}</dd>
        </div>
      ))}
    </dl>
  )
}
