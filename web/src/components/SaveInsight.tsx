import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { saveInsight, type NewSavedInsight } from '../api/client'
import { keys } from '../api/queries'
import type { InsightKind, SavedInsight } from '../api/schema'
import { errorMessage } from '../format'
import { useAllowed } from '../hooks/role'
import { hashOf, useRouteParams } from '../hooks/route'
import { Button } from './ui/Button'
import { Field, Input, Label } from './ui/Field'
import { ErrorText } from './ui/State'

/**
 * Saves the insight on screen: the page's URL parameters under a name,
 * pinned to the dashboard if asked. The saved insight reads live data each
 * time it opens.
 */
export function SaveInsight({ kind, suggestion }: { kind: InsightKind; suggestion: string }) {
  const id = useId()
  const [params] = useRouteParams()
  const [open, setOpen] = useState(false)
  const [name, setName] = useState('')
  const [pinned, setPinned] = useState(false)
  const [saved, setSaved] = useState<SavedInsight | null>(null)
  const queryClient = useQueryClient()
  const allowed = useAllowed('operator')
  const save = useMutation({
    mutationFn: (req: NewSavedInsight) => saveInsight(req),
    onSuccess: (s) => {
      setSaved(s)
      setOpen(false)
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.saved }),
  })
  if (!open) {
    return (
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <Button
          size="sm"
          disabled={!allowed.allowed}
          title={allowed.why}
          onClick={() => {
            setName(suggestion)
            setSaved(null)
            save.reset()
            setOpen(true)
          }}
        >
          Save…
        </Button>
        {saved !== null && (
          <p role="status">
            Saved as “{saved.name}”{saved.pinned && ', pinned to the dashboard'}.{' '}
            <a className="text-blue-700 underline dark:text-blue-300" href={hashOf('insights', {}, 'saved')}>
              Saved insights
            </a>
          </p>
        )}
      </div>
    )
  }
  return (
    <form
      aria-label="Save this insight"
      className="flex flex-wrap items-end gap-3"
      noValidate
      onSubmit={(e) => {
        e.preventDefault()
        save.mutate({ name: name.trim(), kind, query: params.toString(), pinned })
      }}
    >
      <Field>
        <Label htmlFor={`${id}-name`}>Name</Label>
        <Input
          id={`${id}-name`}
          className="w-64"
          value={name}
          maxLength={100}
          required
          onChange={(e) => setName(e.target.value)}
        />
      </Field>
      <label className="flex items-center gap-2 pb-1.5 text-sm">
        <input type="checkbox" checked={pinned} onChange={(e) => setPinned(e.target.checked)} />
        Pin to the dashboard
      </label>
      <Button type="submit" variant="primary" size="sm" disabled={save.isPending || name.trim() === ''}>
        Save
      </Button>
      <Button size="sm" variant="quiet" onClick={() => setOpen(false)}>
        Cancel
      </Button>
      {save.error !== null && <ErrorText>Could not save: {errorMessage(save.error)}</ErrorText>}
    </form>
  )
}
