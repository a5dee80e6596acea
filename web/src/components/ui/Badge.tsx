import type { ReactNode } from 'react'

/** The colours a badge comes in; each pair passes WCAG AA in light and dark. */
export type BadgeTone = 'slate' | 'blue' | 'indigo' | 'violet' | 'cyan' | 'green' | 'amber' | 'red' | 'rose'

const TONE: Record<BadgeTone, string> = {
  slate: 'bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-200',
  blue: 'bg-blue-100 text-blue-800 dark:bg-blue-900/60 dark:text-blue-100',
  indigo: 'bg-indigo-50 text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200',
  violet: 'bg-purple-100 text-purple-800 dark:bg-purple-900/60 dark:text-purple-100',
  cyan: 'bg-cyan-100 text-cyan-900 dark:bg-cyan-900/60 dark:text-cyan-100',
  green: 'bg-green-100 text-green-800 dark:bg-green-900/60 dark:text-green-100',
  amber: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100',
  red: 'bg-red-100 text-red-800 dark:bg-red-900/60 dark:text-red-100',
  rose: 'bg-rose-100 text-rose-800 dark:bg-rose-900/60 dark:text-rose-100',
}

interface Props {
  tone?: BadgeTone
  /** A stronger fill, for the worst of a kind (a dead letter among failures). */
  strong?: boolean
  /** Pulses gently: something is going on right now. */
  pulse?: boolean
  className?: string
  children: ReactNode
}

/** A small rounded label: a status, a source, an event type, a count. */
export function Badge({ tone = 'slate', strong = false, pulse = false, className = '', children }: Props) {
  const colours = strong ? 'bg-red-200 text-red-900 dark:bg-red-800 dark:text-red-50' : TONE[tone]
  return (
    <span
      className={`inline-flex shrink-0 items-center rounded-full px-2 py-0.5 text-[11px] font-semibold tabular-nums ${colours} ${
        pulse ? 'motion-safe:animate-pulse' : ''
      } ${className}`}
    >
      {children}
    </span>
  )
}
