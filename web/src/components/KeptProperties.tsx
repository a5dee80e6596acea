import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { addRollupKey, removeRollupKey } from '../api/client'
import { keys as queryKeys } from '../api/queries'
import type { RollupKey } from '../api/schema'
import { errorMessage } from '../format'
import { useRollupKeys } from '../hooks/resources'
import { useAllowed } from '../hooks/role'
import { RoleNote } from './RoleNote'
import { Badge } from './ui/Badge'
import { Button } from './ui/Button'
import { Card } from './ui/Card'
import { Field, Input, Label } from './ui/Field'
import { ErrorText, Loading } from './ui/State'

const PREFIX = 'properties.'

function percent(k: RollupKey): string {
  return `${Math.floor(k.filled * 100)}%`
}

/** Where a breakdown by a property is counted from, in a sentence. */
export function breakdownSource(breakdown: string, kept: readonly RollupKey[] | undefined): string | null {
  if (!breakdown.startsWith(PREFIX) || kept === undefined) return null
  const k = kept.find((x) => x.key === breakdown.slice(PREFIX.length))
  if (k === undefined)
    return `${breakdown} is counted from the events of the range: keep it below to read it from the rollups.`
  if (!k.ready)
    return `${breakdown} is being counted into the rollups (${percent(k)} of the events stored before it was kept); until then it is counted from the events.`
  return `${breakdown} is read from the rollups.`
}

/**
 * The property keys kept in the rollups: a breakdown by one reads counts
 * per minute and hour, as by page, element or source, instead of the
 * events of its range. Keeping and dropping a key are admin actions.
 */
export function KeptProperties({ breakdown }: { breakdown: string }) {
  const id = useId()
  const [draft, setDraft] = useState('')
  const list = useRollupKeys()
  const kept = list.data?.keys
  const client = useQueryClient()
  const refresh = () => client.invalidateQueries({ queryKey: queryKeys.rollupKeys })
  const add = useMutation({ mutationFn: addRollupKey, onSuccess: () => setDraft(''), onSettled: refresh })
  const remove = useMutation({ mutationFn: removeRollupKey, onSettled: refresh })
  const current = breakdown.startsWith(PREFIX) ? breakdown.slice(PREFIX.length) : null
  const source = breakdownSource(breakdown, kept)
  const full = kept !== undefined && list.data !== null && kept.length >= list.data.max
  const keep = useAllowed('admin')

  return (
    <Card title="Kept properties">
      <div className="flex flex-col gap-3 text-sm">
        <p>
          A breakdown by a property reads the events of its range, which takes longer the longer the range. Pulse keeps
          counts by up to {list.data?.max ?? 10} chosen property keys per minute and hour, written with each batch; the
          events stored before a key is kept are counted in the background.
        </p>
        {source !== null && (
          <p role="status" className="flex flex-wrap items-center gap-2">
            {source}
            {current !== null && kept?.every((k) => k.key !== current) && !full && (
              <Button
                size="sm"
                disabled={add.isPending || !keep.allowed}
                title={keep.why}
                onClick={() => add.mutate(current)}
              >
                Keep {current}
              </Button>
            )}
          </p>
        )}
        {list.error && <ErrorText>Could not load the kept properties: {list.error}</ErrorText>}
        {kept === undefined ? (
          !list.error && <Loading />
        ) : kept.length === 0 ? (
          <p className="text-slate-600 dark:text-slate-400">No property is kept yet.</p>
        ) : (
          <ul aria-label="Kept property keys" className="flex flex-col gap-1">
            {kept.map((k) => (
              <li key={k.key} className="flex flex-wrap items-center gap-2">
                <code className="font-mono">{PREFIX + k.key}</code>
                {k.ready ? (
                  <Badge tone="green">ready</Badge>
                ) : (
                  <Badge tone="amber">counting the stored events: {percent(k)}</Badge>
                )}
                <Button
                  size="sm"
                  variant="quiet"
                  aria-label={`Stop keeping ${k.key}`}
                  disabled={remove.isPending || !keep.allowed}
                  title={keep.why}
                  onClick={() => remove.mutate(k.key)}
                >
                  Stop keeping
                </Button>
              </li>
            ))}
          </ul>
        )}
        <form
          aria-label="Keep a property key"
          className="flex flex-wrap items-end gap-2"
          noValidate
          onSubmit={(e) => {
            e.preventDefault()
            const key = draft.trim().replace(/^properties\./, '')
            if (key !== '') add.mutate(key)
          }}
        >
          <Field>
            <Label htmlFor={`${id}-key`}>Property key</Label>
            <Input
              id={`${id}-key`}
              className="w-48 font-mono"
              placeholder="plan"
              maxLength={64}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
            />
          </Field>
          <Button
            type="submit"
            size="md"
            disabled={add.isPending || draft.trim() === '' || full || !keep.allowed}
            title={keep.why}
          >
            Keep
          </Button>
          {full && <span className="pb-1.5 text-slate-600 dark:text-slate-400">At most {list.data?.max} keys.</span>}
        </form>
        <RoleNote permission={keep} />
        {add.error && <ErrorText>Could not keep the key: {errorMessage(add.error)}</ErrorText>}
        {remove.error && <ErrorText>Could not stop keeping the key: {errorMessage(remove.error)}</ErrorText>}
      </div>
    </Card>
  )
}
