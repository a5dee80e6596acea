// Display helpers shared by the panels.

/** Formats an RFC 3339 time as a local wall-clock time, or a dash. */
export function clockTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return '—'
  return t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

/** Formats a duration in milliseconds the way the seed did: 30ms, 5.02s. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0ms'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`
  return `${(ms / 60_000).toFixed(1)}min`
}

/** Formats a count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString()
}
