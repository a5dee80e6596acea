// Form controls with one look: label above, control, then a hint or an
// error tied to the control with aria-describedby by the caller.

import type { ComponentProps, ReactNode } from 'react'

const CONTROL =
  'min-w-0 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm text-slate-900 placeholder:text-slate-500 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-blue-600 aria-[invalid=true]:border-red-600 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100 dark:placeholder:text-slate-400 dark:focus-visible:outline-blue-400 dark:aria-[invalid=true]:border-red-400'

/** A text, number, date or search input. */
export function Input({ className = '', ...rest }: ComponentProps<'input'>) {
  return <input className={`${CONTROL} ${className}`} {...rest} />
}

/** A native select: keyboard and screen-reader behaviour come with it. */
export function Select({ className = '', ...rest }: ComponentProps<'select'>) {
  return <select className={`${CONTROL} ${className}`} {...rest} />
}

/** The label of a control. */
export function Label({ className = '', ...rest }: ComponentProps<'label'>) {
  return <label className={`text-xs font-medium text-slate-700 dark:text-slate-300 ${className}`} {...rest} />
}

/** A line under a control: a hint, or an error when `error` is set. */
export function Hint({ id, error = false, children }: { id?: string; error?: boolean; children: ReactNode }) {
  return (
    <span
      id={id}
      className={`text-xs ${error ? 'text-red-700 dark:text-red-300' : 'text-slate-600 dark:text-slate-400'}`}
    >
      {children}
    </span>
  )
}

/** A label, its control and an optional hint, stacked. */
export function Field({ className = '', children }: { className?: string; children: ReactNode }) {
  return <div className={`flex min-w-0 flex-col gap-1 ${className}`}>{children}</div>
}
