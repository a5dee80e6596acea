// Small pieces shared by the console views: table cell styles, buttons,
// error messages and the admin token input.

import { useId, useState } from 'react'
import { adminToken, setAdminToken } from '../api/client'

export const TH = 'px-2 py-1 text-left text-[11px] font-medium text-slate-500 dark:text-slate-400'
export const TD = 'px-2 py-1 text-xs tabular-nums'
export const ROW = 'border-t border-slate-100 dark:border-slate-800'

export const INPUT =
  'rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 focus-visible:outline-2 focus-visible:outline-blue-500 aria-[invalid=true]:border-red-500 dark:border-slate-700 dark:bg-slate-950 dark:text-slate-100'

export const BUTTON =
  'rounded-md bg-blue-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-500 disabled:cursor-not-allowed disabled:opacity-50'

export const BUTTON_SECONDARY =
  'rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-500 disabled:cursor-not-allowed disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100 dark:hover:bg-slate-800'

export const BUTTON_SMALL =
  'rounded border border-slate-300 px-1.5 py-0.5 text-[11px] font-medium text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-blue-500 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800'

export const LABEL = 'text-xs font-medium text-slate-700 dark:text-slate-300'

/** An error in words, announced to screen readers. */
export function ErrorText({ children }: { children: React.ReactNode }) {
  return (
    <p role="alert" className="mb-2 text-sm break-words text-red-700 dark:text-red-300">
      {children}
    </p>
  )
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The admin token for this tab: kept in sessionStorage, sent as a Bearer token by admin calls. */
export function AdminTokenInput() {
  const id = useId()
  const [token, setToken] = useState(adminToken)
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className={LABEL}>
        Admin token
      </label>
      <input
        id={id}
        type="password"
        autoComplete="off"
        className={INPUT}
        value={token}
        placeholder="not needed on loopback"
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          setToken(e.target.value)
          setAdminToken(e.target.value.trim())
        }}
      />
      <span id={`${id}-hint`} className="text-[11px] text-slate-500 dark:text-slate-400">
        Kept for this tab only, sent as a Bearer token with admin actions.
      </span>
    </div>
  )
}
