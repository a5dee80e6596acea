// What a panel shows instead of its data: still loading, nothing there, or
// an error. One look for all of them, so every view says the same thing the
// same way.

import type { ReactNode } from 'react'

/** Waiting for the first answer. */
export function Loading({ children = 'Loading…' }: { children?: ReactNode }) {
  return (
    <p aria-busy="true" className="py-6 text-center text-sm text-slate-600 dark:text-slate-400">
      <span
        aria-hidden="true"
        className="mr-2 inline-block h-3 w-3 rounded-full border-2 border-slate-300 border-t-blue-600 align-[-1px] motion-safe:animate-spin dark:border-slate-600 dark:border-t-blue-400"
      />
      {children}
    </p>
  )
}

/** The answer came and has nothing to show; says why or what to do. */
export function Empty({ children }: { children: ReactNode }) {
  return (
    <p className="rounded-md border border-dashed border-slate-300 px-3 py-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400">
      {children}
    </p>
  )
}

/** An error in words, announced to screen readers. */
export function ErrorText({ children }: { children: ReactNode }) {
  return (
    <p role="alert" className="mb-2 text-sm break-words text-red-700 dark:text-red-300">
      {children}
    </p>
  )
}
