import type uPlot from 'uplot'
import { clockTime } from '../format'

/**
 * The charts' axis: its text takes the colour of the element the chart is
 * drawn in (text-slate-600 in light, slate-400 in dark: AA on both
 * backgrounds), read when the axis is drawn, so it follows the colour
 * scheme. A fixed mid-grey (#94a3b8) read 2.6:1 on white.
 */
export const AXIS: uPlot.Axis = {
  stroke: (u) => getComputedStyle(u.root).color,
  grid: { stroke: 'rgba(148,163,184,0.18)', width: 1 },
  ticks: { stroke: 'rgba(148,163,184,0.3)', width: 1 },
}

/** The classes of an element a chart is drawn in: the axis text colour. */
export const CHART_TEXT = 'text-slate-600 dark:text-slate-400'

/**
 * The x series of a time chart: its legend says "Time" and the time under
 * the cursor, and a dash when the cursor is away (uPlot's default "--").
 */
export const TIME_SERIES: uPlot.Series = {
  label: 'Time',
  value: (_u, v) => (v === null || v === undefined ? '—' : clockTime(new Date(v * 1000).toISOString())),
}
