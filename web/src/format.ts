// Display helpers shared by the panels.
//
// The Intl formatters are made once: toLocaleString and toLocaleTimeString
// build a new one on every call, which at 5,000 events/s was the page's
// largest single cost (a profile of the dashboard put 9% of its main
// thread in clockTime alone).

const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const CLOCK_24H = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})
const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
})
const WHOLE = new Intl.NumberFormat()
const ONE_DECIMAL = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 })
const NO_DECIMAL = new Intl.NumberFormat(undefined, { minimumFractionDigits: 0, maximumFractionDigits: 0 })
const TWO_DECIMALS = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })

/** Formats an RFC 3339 time as a local wall-clock time, or a dash. */
export function clockTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return '—'
  return CLOCK.format(t)
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
  return WHOLE.format(n)
}

/** Formats an RFC 3339 time as a wall-clock time with milliseconds, or a dash. */
export function preciseTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return '—'
  const hms = CLOCK_24H.format(t)
  return `${hms}.${String(t.getMilliseconds()).padStart(3, '0')}`
}

/** Formats an RFC 3339 time as a local date and time, or a dash. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return '—'
  return DATE_TIME.format(t)
}

/** Formats a number of seconds: 0.4s, 12.0s, 3.5min, 2.1h. */
export function seconds(s: number): string {
  if (!Number.isFinite(s) || s <= 0) return '0s'
  if (s < 60) return `${s.toFixed(1)}s`
  if (s < 3600) return `${(s / 60).toFixed(1)}min`
  return `${(s / 3600).toFixed(1)}h`
}

/** Formats a whole span of seconds as people write it: 10 s, 2 min, 6 h. */
export function span(s: number): string {
  if (s < 60) return `${s} s`
  if (s < 3600) return `${+(s / 60).toFixed(1)} min`
  return `${+(s / 3600).toFixed(1)} h`
}

/** Formats a rate per second: one decimal below 10 (0.4, 9.5), whole with thousands separators above (1,234), a dash when unknown. */
export function perSecond(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '—'
  return (Math.abs(n) < 10 ? ONE_DECIMAL : NO_DECIMAL).format(n)
}

/** Formats an elapsed time in milliseconds coarsely, for "… ago": 12 s, 3 min 5 s, 2 h 4 min. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** Formats a latency in milliseconds: one decimal below 10 ms (8.4 ms), whole below a second (12 ms), seconds above (5.02 s, 1,234.50 s). */
export function ms(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—'
  if (Math.abs(v) < 10) return `${v.toFixed(1)} ms`
  if (Math.abs(v) < 1000) return `${Math.round(v)} ms`
  return `${TWO_DECIMALS.format(v / 1000)} s`
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Formats a share (0..1) as a percentage: one decimal below 10% (2.5%), whole above (25%). */
export function percent(share: number): string {
  if (!Number.isFinite(share)) return '—'
  const p = share * 100
  return `${p > 0 && p < 10 ? +p.toFixed(1) : Math.round(p)}%`
}

/** Formats a time between two steps as people say it: 4.5 s, 42 s, 3 min, 2.5 h, 3 d; a dash when unknown. */
export function wait(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—'
  if (s < 10) return `${+s.toFixed(1)} s`
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${+(s / 60).toFixed(1)} min`
  if (s < 86_400) return `${+(s / 3600).toFixed(1)} h`
  return `${+(s / 86_400).toFixed(1)} d`
}
