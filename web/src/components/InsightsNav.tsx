import { hashOf } from '../hooks/route'

/** The pages of Insights, by their path under #/insights. */
export const INSIGHTS_PAGES = [
  { path: '', label: 'Trends' },
  { path: 'funnels', label: 'Funnels' },
  { path: 'retention', label: 'Retention' },
  { path: 'live', label: 'Live' },
  { path: 'saved', label: 'Saved' },
] as const
export type InsightsPath = (typeof INSIGHTS_PAGES)[number]['path']

/** The Insights page a path names; anything unknown is the trends. */
export function insightsPathOf(path: string): InsightsPath {
  return INSIGHTS_PAGES.find((p) => p.path === path)?.path ?? ''
}

/** The links between the Insights pages; the current one has aria-current. Each opens with its own defaults. */
export function InsightsNav({ current }: { current: InsightsPath }) {
  return (
    <nav aria-label="Insights">
      <ul className="flex flex-wrap gap-2">
        {INSIGHTS_PAGES.map((p) => {
          const active = p.path === current
          return (
            <li key={p.path}>
              <a
                href={hashOf('insights', {}, p.path)}
                aria-current={active ? 'page' : undefined}
                className={`block rounded-full border px-3 py-1 text-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400 ${
                  active
                    ? 'border-blue-600 bg-blue-600 font-semibold text-white dark:border-blue-400 dark:bg-blue-400 dark:text-slate-950'
                    : 'border-slate-300 bg-white text-slate-700 hover:bg-slate-100 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-300 dark:hover:bg-slate-800'
                }`}
              >
                {p.label}
              </a>
            </li>
          )
        })}
      </ul>
    </nav>
  )
}
