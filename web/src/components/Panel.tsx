import type { ReactNode } from 'react'

interface Props {
  title: string
  children: ReactNode
  className?: string
  actions?: ReactNode
}

/** A titled card: one per dashboard section, labelled for screen readers. */
export function Panel({ title, children, className = '', actions }: Props) {
  const id = `panel-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
  return (
    <section
      aria-labelledby={id}
      className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5 dark:border-slate-800 dark:bg-slate-900 ${className}`}
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
