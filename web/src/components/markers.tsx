// Markers on the time-series charts: rebalances, commit stalls, DLQ
// bursts, alerts firing or resolving and rewinds, drawn as vertical lines, with a
// legend that names them in text.

import type uPlot from 'uplot'
import { MARKER_KINDS, type Marker, type MarkerKind } from '../api/schema'
import { clockTime } from '../format'

/** How each kind of marker looks, on the canvas and in the legend. */
export const MARKER_STYLE: Record<MarkerKind, { color: string; label: string; dash: number[] }> = {
  rebalance: { color: '#8b5cf6', label: 'Rebalance', dash: [6, 4] },
  commit_stall: { color: '#f59e0b', label: 'Commit stall', dash: [2, 3] },
  dlq_burst: { color: '#ef4444', label: 'DLQ burst', dash: [] },
  alert_firing: { color: '#dc2626', label: 'Alert firing', dash: [8, 2, 2, 2] },
  alert_resolved: { color: '#16a34a', label: 'Alert resolved', dash: [8, 2, 2, 2] },
  rewind: { color: '#0ea5e9', label: 'Rewind', dash: [8, 2, 2, 2] },
}

/**
 * A uPlot plugin drawing markers as vertical lines across the plot area.
 * get is called on every draw so the newest markers show without rebuilding
 * the chart.
 */
export function markersPlugin(get: () => readonly Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const markers = get()
          if (markers.length === 0) return
          const { ctx, bbox } = u
          ctx.save()
          ctx.lineWidth = Math.max(1, devicePixelRatio)
          for (const m of markers) {
            const t = Date.parse(m.t) / 1000
            if (Number.isNaN(t)) continue
            const x = u.valToPos(t, 'x', true)
            if (x < bbox.left || x > bbox.left + bbox.width) continue
            const style = MARKER_STYLE[m.kind]
            ctx.strokeStyle = style.color
            ctx.setLineDash(style.dash.map((d) => d * devicePixelRatio))
            ctx.beginPath()
            ctx.moveTo(Math.round(x) + 0.5, bbox.top)
            ctx.lineTo(Math.round(x) + 0.5, bbox.top + bbox.height)
            ctx.stroke()
          }
          ctx.restore()
        },
      ],
    },
  }
}

interface LegendProps {
  markers: readonly Marker[]
  /** Only markers at or after this time (epoch ms) are counted. */
  since?: number
}

/** The legend of the markers: each kind's line style and how many are in view, and the latest one in words. */
export function MarkerLegend({ markers, since = 0 }: LegendProps) {
  const shown = markers.filter((m) => Date.parse(m.t) >= since)
  const latest = shown.at(-1)
  return (
    <div className="mt-2 text-xs text-slate-600 dark:text-slate-400">
      <ul aria-label="Chart markers" className="flex flex-wrap gap-x-4 gap-y-1">
        {MARKER_KINDS.map((k) => {
          const style = MARKER_STYLE[k]
          const n = shown.filter((m) => m.kind === k).length
          return (
            <li key={k} className="flex items-center gap-1.5">
              <svg width="18" height="10" aria-hidden="true">
                <line
                  x1="9"
                  x2="9"
                  y1="0"
                  y2="10"
                  stroke={style.color}
                  strokeWidth="2"
                  strokeDasharray={style.dash.join(' ')}
                />
              </svg>
              <span>
                {style.label}: {n}
              </span>
            </li>
          )
        })}
      </ul>
      {latest && (
        <p className="mt-1">
          Latest marker: {MARKER_STYLE[latest.kind].label} at {clockTime(latest.t)}
          {latest.detail ? ` — ${latest.detail}` : ''}
        </p>
      )}
    </div>
  )
}
