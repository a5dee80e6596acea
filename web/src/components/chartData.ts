// The charts' data: the server's series (kept in the store, so a reload or
// a restart keeps them) extended by the buckets this page counted live
// since the server's last complete step.

import type { Series } from '../api/schema'
import type { SeriesSnapshot } from '../live/series'

/**
 * Joins the server's series with the live window's buckets that start at or
 * after its end. The server's last step may be partial (it ends at `to`,
 * now when it answered): its rate is its count over the part it covers. A live bucket is appended only when it has a rate (it is
 * complete and was watched whole): a bucket the page did not see whole is
 * left to the next fetch. Without a server answer the live window is drawn
 * alone; with a server step wider than the live buckets (ranges over 15
 * minutes) nothing live is appended, as the steps would not compare.
 */
export function joinSeries(server: Series | undefined, live: SeriesSnapshot): SeriesSnapshot {
  if (server === undefined) return live
  const step = server.step_seconds
  const types = [...new Set([...Object.keys(server.events), ...live.types])].sort()
  const times = [...server.times]
  const end = Date.parse(server.to) / 1000
  // The last step may still be filling: its count covers up to `to` only.
  const width = server.times.map((t) => Math.min(step, end - t))
  const rates = types.map((t): (number | null)[] =>
    (server.events[t] ?? server.times.map(() => 0)).map((n, i) => (width[i] > 0 ? n / width[i] : null)),
  )
  const p50 = [...server.latency_ms.p50]
  const p95 = [...server.latency_ms.p95]
  const p99 = [...server.latency_ms.p99]
  const liveStep = live.times.length > 1 ? live.times[1] - live.times[0] : step
  if (liveStep === step) {
    live.times.forEach((t, j) => {
      if (t < end) return
      const complete = live.rates.length === 0 || live.rates.every((r) => r[j] !== null)
      if (!complete) return
      times.push(t)
      types.forEach((type, i) => {
        const k = live.types.indexOf(type)
        rates[i].push(k < 0 ? 0 : live.rates[k][j])
      })
      p50.push(live.p50[j])
      p95.push(live.p95[j])
      p99.push(live.p99[j])
    })
  }
  return { times, types, rates, p50, p95, p99 }
}
