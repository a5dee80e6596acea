import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { deleteSavedInsight, updateSavedInsight } from '../api/client'
import { keys } from '../api/queries'
import type { InsightKind, SavedInsight } from '../api/schema'
import { RoleNote } from '../components/RoleNote'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { Input } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { dateTime, errorMessage } from '../format'
import { useSavedInsights } from '../hooks/resources'
import { useAllowed } from '../hooks/role'
import { hashOf } from '../hooks/route'

/** The Insights page each kind opens, by its path under #/insights. */
export const KIND_PATHS: Record<InsightKind, string> = { trend: '', funnel: 'funnels', retention: 'retention' }
export const KIND_LABELS: Record<InsightKind, string> = { trend: 'Trend', funnel: 'Funnel', retention: 'Retention' }

/** The link that opens a saved insight on its page, as it was saved. */
export function savedHref(s: SavedInsight): string {
  return hashOf('insights', new URLSearchParams(s.query), KIND_PATHS[s.kind])
}

/** A saved insight's actions: pin or unpin, rename, delete (asked twice). */
function Actions({ insight, onError }: { insight: SavedInsight; onError: (message: string | null) => void }) {
  const id = useId()
  const [renaming, setRenaming] = useState(false)
  const [name, setName] = useState(insight.name)
  const [deleting, setDeleting] = useState(false)
  const queryClient = useQueryClient()
  const settle = {
    onSuccess: () => onError(null),
    onError: (err: unknown) => onError(`${insight.name}: ${errorMessage(err)}`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.saved }),
  }
  const update = useMutation({
    mutationFn: (change: { name?: string; pinned?: boolean }) => updateSavedInsight(insight.id, change),
    ...settle,
  })
  const remove = useMutation({ mutationFn: () => deleteSavedInsight(insight.id), ...settle })
  const change = useAllowed('operator')
  if (renaming) {
    return (
      <form
        className="flex flex-wrap items-center justify-end gap-2"
        aria-label={`Rename ${insight.name}`}
        onSubmit={(e) => {
          e.preventDefault()
          update.mutate({ name: name.trim() }, { onSuccess: () => setRenaming(false) })
        }}
      >
        <label htmlFor={`${id}-name`} className="sr-only">
          New name
        </label>
        <Input
          id={`${id}-name`}
          className="w-48"
          value={name}
          maxLength={100}
          onChange={(e) => setName(e.target.value)}
        />
        <Button type="submit" size="sm" variant="primary" disabled={name.trim() === '' || update.isPending}>
          Rename
        </Button>
        <Button size="sm" variant="quiet" onClick={() => setRenaming(false)}>
          Cancel
        </Button>
      </form>
    )
  }
  return (
    <div className="flex flex-wrap justify-end gap-2">
      <Button
        size="sm"
        aria-pressed={insight.pinned}
        aria-label={`${insight.pinned ? 'Unpin' : 'Pin'} ${insight.name}`}
        disabled={update.isPending || !change.allowed}
        title={change.why}
        onClick={() => update.mutate({ pinned: !insight.pinned })}
      >
        {insight.pinned ? 'Unpin' : 'Pin'}
      </Button>
      <Button
        size="sm"
        aria-label={`Rename ${insight.name}`}
        disabled={!change.allowed}
        title={change.why}
        onClick={() => {
          setName(insight.name)
          setRenaming(true)
        }}
      >
        Rename
      </Button>
      {deleting ? (
        <>
          <Button
            size="sm"
            variant="primary"
            tone="red"
            aria-label={`Confirm deleting ${insight.name}`}
            disabled={remove.isPending}
            onClick={() => remove.mutate()}
          >
            Delete
          </Button>
          <Button size="sm" variant="quiet" onClick={() => setDeleting(false)}>
            Keep
          </Button>
        </>
      ) : (
        <Button
          size="sm"
          aria-label={`Delete ${insight.name}`}
          disabled={!change.allowed}
          title={change.why}
          onClick={() => setDeleting(true)}
        >
          Delete…
        </Button>
      )}
    </div>
  )
}

/** The saved insights: each opens its page as saved; pinned ones are on the dashboard. */
export function SavedInsightsPage({ pollMs = 30_000 }: { pollMs?: number }) {
  const saved = useSavedInsights(pollMs)
  const [problem, setProblem] = useState<string | null>(null)
  const change = useAllowed('operator')
  const columns: Column<SavedInsight>[] = [
    {
      header: 'Name',
      cell: (s) => (
        <a className="font-medium text-blue-700 underline dark:text-blue-300" href={savedHref(s)}>
          {s.name}
        </a>
      ),
    },
    { header: 'Kind', cell: (s) => KIND_LABELS[s.kind] },
    { header: 'On the dashboard', cell: (s) => (s.pinned ? 'Pinned' : '—') },
    { header: 'Changed', cell: (s) => dateTime(s.updated_at) },
    { header: 'Actions', hideHeader: true, cell: (s) => <Actions insight={s} onError={setProblem} /> },
  ]
  return (
    <Card title="Saved insights">
      <RoleNote permission={change} />
      {problem !== null && <ErrorText>Could not change {problem}</ErrorText>}
      {saved.error && <ErrorText>Could not load the saved insights: {saved.error}</ErrorText>}
      {saved.data === null ? (
        !saved.error && <Loading />
      ) : (
        <DataTable
          caption="Saved insights"
          columns={columns}
          rows={saved.data}
          rowKey={(s) => s.id}
          empty={
            <Empty>
              Nothing saved yet: open a trend, funnel or retention and choose “Save…”. Pinned insights show on the
              dashboard.
            </Empty>
          }
        />
      )}
    </Card>
  )
}
