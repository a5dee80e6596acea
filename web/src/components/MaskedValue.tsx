import { isMasked } from '../api/privacy'

/** The title and accessible name of a masked value's cue. */
export const MASKED_NOTE = 'masked: a personal field'

/** A closed padlock, drawn so it needs no font. */
function Lock() {
  return (
    <svg aria-hidden="true" viewBox="0 0 16 16" className="inline size-3 shrink-0 fill-current">
      <path d="M4.5 7V5a3.5 3.5 0 1 1 7 0v2h.5A1 1 0 0 1 13 8v6a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1zm1.5 0h4V5a2 2 0 1 0-4 0z" />
    </svg>
  )
}

/**
 * A personal value as the reader may see it: a pseudonym the server wrote
 * in its place (masked-…, docs/accounts.md#personal-fields) shows muted,
 * in monospace, with a padlock and the words "masked: a personal field";
 * any other value shows as it is, or empty as the fallback.
 */
export function MaskedValue({ value = '', fallback = '—' }: { value?: string; fallback?: string }) {
  if (!isMasked(value)) return <>{value || fallback}</>
  return (
    <span
      title={MASKED_NOTE}
      className="inline-flex max-w-full min-w-0 items-center gap-1 font-mono text-slate-500 dark:text-slate-400"
    >
      <Lock />
      <span className="truncate">{value}</span>
      <span className="sr-only"> ({MASKED_NOTE})</span>
    </span>
  )
}
