import type { ReactNode } from 'react'

interface Props {
  title: string
  children: ReactNode
  className?: string
  /** Beside the title: a count, a filter, a link. */
  actions?: ReactNode
}

/** A titled section of a page; its title is its accessible name (a region). */
export function Card({ title, children, className = '', actions }: Props) {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
  return (
    <section
      aria-labelledby={id}
      className={`min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5 dark:border-slate-800 dark:bg-slate-900 ${className}`}
    >
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={id} className="text-base font-semibold text-slate-900 dark:text-slate-50">
          {title}
        </h2>
        {actions}
      </div>
      {children}
    </section>
  )
}

/** Small print beside a card's title. */
export function CardNote({ children }: { children: ReactNode }) {
  return <span className="text-xs text-slate-600 tabular-nums dark:text-slate-400">{children}</span>
}
