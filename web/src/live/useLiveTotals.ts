// useLiveTotals ticks the live figures once a second: a rate read only when
// a frame arrives freezes at its last value when traffic stops.

import { useEffect, useState } from 'react'
import type { LiveTotals, SeriesWindow } from './series'

/** Returns series.totals(now), recomputed every tickMs. */
export function useLiveTotals(series: SeriesWindow, tickMs = 1000): LiveTotals {
  const [totals, setTotals] = useState(() => series.totals(Date.now()))
  useEffect(() => {
    const tick = () => setTotals(series.totals(Date.now()))
    tick()
    const timer = setInterval(tick, tickMs)
    return () => clearInterval(timer)
  }, [series, tickMs])
  return totals
}
