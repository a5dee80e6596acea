import { useId, useRef, type KeyboardEvent, type ReactNode } from 'react'

interface Tab<K extends string> {
  key: K
  label: ReactNode
}

interface Props<K extends string> {
  /** The accessible name of the tab list. */
  label: string
  tabs: readonly Tab<K>[]
  selected: K
  onSelect: (key: K) => void
  /** The panel of the selected tab. */
  children: ReactNode
}

/**
 * Tabs as the ARIA pattern has them: one tab stop for the list (the selected
 * tab), arrow keys, Home and End move and select; the panel is labelled by
 * its tab. The caller owns the selection, so it can live in the URL.
 */
export function Tabs<K extends string>({ label, tabs, selected, onSelect, children }: Props<K>) {
  const id = useId()
  const list = useRef<HTMLDivElement>(null)
  const index = Math.max(
    0,
    tabs.findIndex((t) => t.key === selected),
  )

  const onKey = (e: KeyboardEvent) => {
    const next =
      e.key === 'ArrowRight'
        ? (index + 1) % tabs.length
        : e.key === 'ArrowLeft'
          ? (index - 1 + tabs.length) % tabs.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? tabs.length - 1
              : null
    if (next === null) return
    e.preventDefault()
    onSelect(tabs[next].key)
    list.current?.querySelectorAll<HTMLElement>('[role="tab"]')[next]?.focus()
  }

  return (
    <div>
      <div
        ref={list}
        role="tablist"
        aria-label={label}
        onKeyDown={onKey}
        className="mb-3 flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800"
      >
        {tabs.map((t, i) => {
          const active = i === index
          return (
            <button
              key={t.key}
              id={`${id}-tab-${t.key}`}
              type="button"
              role="tab"
              aria-selected={active}
              aria-controls={`${id}-panel`}
              tabIndex={active ? 0 : -1}
              onClick={() => onSelect(t.key)}
              className={`-mb-px border-b-2 px-3 py-1.5 text-sm whitespace-nowrap focus-visible:outline-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400 ${
                active
                  ? 'border-blue-600 font-semibold text-blue-700 dark:border-blue-400 dark:text-blue-300'
                  : 'border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-100'
              }`}
            >
              {t.label}
            </button>
          )
        })}
      </div>
      <div
        id={`${id}-panel`}
        role="tabpanel"
        aria-labelledby={`${id}-tab-${tabs[index]?.key ?? ''}`}
        tabIndex={0}
        className="focus-visible:outline-2 focus-visible:outline-blue-600"
      >
        {children}
      </div>
    </div>
  )
}
