import { useId, useMemo } from 'react'
import type { SavedInsight } from '../api/schema'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { count, dateTime } from '../format'
import { useFunnel, useRetention, useSavedInsights, useTrend } from '../hooks/resources'
import { FunnelChart, funnelRequestOf } from './FunnelsPage'
import { TrendChart, trendRequestOf } from './InsightsPage'
import { CohortTable, retentionRequestOf } from './RetentionPage'
import { KIND_LABELS, savedHref } from './SavedInsightsPage'

// A pinned insight asks again this often: the dashboard stays live without
// every card polling like the page it came from.
const PINNED_POLL_MS = 60_000

function PinnedTrend({ insight }: { insight: SavedInsight }) {
  const { req, problem } = useMemo(() => trendRequestOf(new URLSearchParams(insight.query)), [insight.query])
  const trend = useTrend(req, PINNED_POLL_MS)
  const t = trend.data
  if (problem !== null) return <ErrorText>This saved trend cannot be asked: {problem}.</ErrorText>
  if (trend.error) return <ErrorText>Could not load the trend: {trend.error}</ErrorText>
  if (t === null) return <Loading />
  return (
    <>
      <p className="mb-2 text-sm">
        <span className="font-semibold tabular-nums">{count(t.current.total)}</span>{' '}
        {t.measure === 'count' ? 'events' : t.measure} since {dateTime(t.current.buckets[0])}
      </p>
      {t.current.total === 0 ? <Empty>No events in this range.</Empty> : <TrendChart trend={t} />}
    </>
  )
}

function PinnedFunnel({ insight }: { insight: SavedInsight }) {
  const { req, problem } = useMemo(() => funnelRequestOf(new URLSearchParams(insight.query), []), [insight.query])
  const funnel = useFunnel(req, problem === null, PINNED_POLL_MS)
  if (problem !== null) return <ErrorText>This saved funnel cannot be asked: {problem}</ErrorText>
  if (funnel.error) return <ErrorText>Could not load the funnel: {funnel.error}</ErrorText>
  if (funnel.data === null) return <Loading />
  return <FunnelChart funnel={funnel.data} />
}

function PinnedRetention({ insight }: { insight: SavedInsight }) {
  const req = useMemo(() => retentionRequestOf(new URLSearchParams(insight.query)), [insight.query])
  const retention = useRetention(req, PINNED_POLL_MS)
  if (retention.error) return <ErrorText>Could not load the retention: {retention.error}</ErrorText>
  if (retention.data === null) return <Loading />
  if (retention.data.cohorts.every((c) => c.users === 0)) return <Empty>No users first seen in this range.</Empty>
  return <CohortTable retention={retention.data} />
}

function PinnedCard({ insight }: { insight: SavedInsight }) {
  const id = useId()
  return (
    <section
      aria-labelledby={id}
      className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5 dark:border-slate-800 dark:bg-slate-900"
    >
      <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
        <h3 id={id} className="text-base font-semibold text-slate-900 dark:text-slate-50">
          <a className="hover:underline" href={savedHref(insight)}>
            {insight.name}
          </a>
        </h3>
        <span className="text-xs text-slate-600 dark:text-slate-400">{KIND_LABELS[insight.kind]}</span>
      </div>
      <div className="overflow-x-auto">
        {insight.kind === 'trend' && <PinnedTrend insight={insight} />}
        {insight.kind === 'funnel' && <PinnedFunnel insight={insight} />}
        {insight.kind === 'retention' && <PinnedRetention insight={insight} />}
      </div>
    </section>
  )
}

/** The insights pinned to the dashboard, each live; nothing when none is pinned. */
export function PinnedInsights({ className = '' }: { className?: string }) {
  const saved = useSavedInsights()
  const pinned = saved.data?.filter((s) => s.pinned) ?? []
  if (saved.error)
    return (
      <div className={className}>
        <ErrorText>Could not load the pinned insights: {saved.error}</ErrorText>
      </div>
    )
  if (pinned.length === 0) return null
  return (
    <section aria-label="Pinned insights" className={`grid gap-6 lg:grid-cols-2 ${className}`}>
      {pinned.map((s) => (
        <PinnedCard key={s.id} insight={s} />
      ))}
    </section>
  )
}
