// Rewinding the consumer group from the console: a dry run first, which
// shows per partition what would be processed again, then the real run of
// exactly what the dry run showed.

import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { rewindGroup } from '../api/client'
import { keys } from '../api/queries'
import type { RewindInput, RewindPartition, RewindPlan } from '../api/schema'
import { clockTime, count, errorMessage } from '../format'
import { useAllowed } from '../hooks/role'
import { RoleNote } from './RoleNote'
import { Button } from './ui/Button'
import { Card } from './ui/Card'
import { Field, Hint, Input, Label, Select } from './ui/Field'
import { ErrorText } from './ui/State'
import { DataTable, type Column } from './ui/Table'

export type RewindMode = 'time' | 'earliest' | 'latest' | 'offset'

/** The form's state, as typed. */
export interface RewindForm {
  mode: RewindMode
  time: string
  offset: string
  partitions: string
}

/**
 * The request of a form, or the reason it cannot be sent. The target
 * syntax is the API's: an RFC 3339 time, earliest, latest, offset:N or
 * offset:P=N,P=N.
 */
export function rewindRequest(f: RewindForm, dryRun: boolean): RewindInput | string {
  let to: string
  switch (f.mode) {
    case 'time': {
      const t = f.time.trim()
      if (Number.isNaN(Date.parse(t)) || !/^\d{4}-\d{2}-\d{2}T/.test(t))
        return 'Time: an RFC 3339 time such as 2026-12-01T14:00:00Z.'
      to = t
      break
    }
    case 'offset': {
      const o = f.offset.trim()
      if (!/^(\d+|\d+=\d+(\s*,\s*\d+=\d+)*)$/.test(o))
        return 'Offset: a number, or partition=offset pairs such as 0=120,2=40.'
      to = `offset:${o.replace(/\s+/g, '')}`
      break
    }
    default:
      to = f.mode
  }
  const req: RewindInput = { to, dry_run: dryRun }
  const ps = f.partitions.trim()
  if (ps !== '') {
    if (f.mode === 'offset' && f.offset.includes('='))
      return 'Partitions: leave empty; the offsets name their partitions.'
    const list = ps.split(',').map((p) => p.trim())
    if (!list.every((p) => /^\d+$/.test(p))) return 'Partitions: numbers separated by commas, such as 0,2.'
    req.partitions = list.map(Number)
  }
  return req
}

function keysText(n: number, lowerBound: boolean): string {
  return lowerBound ? `at least ${count(n)}` : count(n)
}

const COLUMNS: readonly Column<RewindPartition>[] = [
  { header: 'Partition', cell: (p) => p.partition },
  { header: 'Current', cell: (p) => count(p.current_offset) },
  { header: 'Target', cell: (p) => count(p.target_offset) },
  { header: 'Again', cell: (p) => count(p.records) },
  { header: 'Keys', cell: (p) => keysText(p.keys, p.keys_lower_bound) },
  { header: 'Skipped', cell: (p) => count(p.skipped) },
  { header: 'Member', cell: (p) => p.member ?? '—' },
]

/** What a plan does, in one sentence. */
export function planSummary(p: RewindPlan): string {
  const keyWord = p.keys === 1 && !p.keys_lower_bound ? 'key' : 'keys'
  const recordWord = p.records === 1 ? 'record' : 'records'
  const again = `${count(p.records)} ${recordWord} (${keysText(p.keys, p.keys_lower_bound)} ${keyWord}) to process again`
  const skipped = p.skipped > 0 ? `, ${count(p.skipped)} skipped` : ''
  if (p.dry_run) return `Dry run: rewinding ${p.group} to ${p.to} gives ${again}${skipped}.`
  const how = p.method === 'members' ? 'moved by the group’s members' : 'committed (the group has no members)'
  return `Rewound ${p.group} to ${p.to} at ${p.applied_at ? clockTime(p.applied_at) : 'now'}: ${again}${skipped}; offsets ${how}.`
}

function hourAgo(): string {
  return new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, 'Z')
}

/** The rewind card of the consumers view. */
export function RewindCard() {
  const queryClient = useQueryClient()
  const operate = useAllowed('operator')
  const [form, setForm] = useState<RewindForm>(() => ({ mode: 'time', time: hourAgo(), offset: '', partitions: '' }))
  const ids = { mode: useId(), time: useId(), offset: useId(), partitions: useId(), hint: useId() }
  const dry = useMutation({ mutationKey: keys.rewind, mutationFn: (req: RewindInput) => rewindGroup(req) })
  const real = useMutation({
    mutationKey: keys.rewind,
    mutationFn: (req: RewindInput) => rewindGroup(req),
    onSuccess: () => {
      dry.reset()
      return queryClient.invalidateQueries({ queryKey: keys.consumers })
    },
  })
  const req = rewindRequest(form, true)
  const invalid = typeof req === 'string' ? req : null
  const busy = dry.isPending || real.isPending
  const plan = dry.data ?? null
  const done = real.data ?? null
  const failure = dry.error ?? real.error

  const edit = (patch: Partial<RewindForm>) => {
    dry.reset()
    real.reset()
    setForm((f) => ({ ...f, ...patch }))
  }

  return (
    <Card title="Rewind" className="2xl:col-span-2">
      <form
        className="flex flex-wrap items-start gap-4"
        onSubmit={(e) => {
          e.preventDefault()
          if (typeof req !== 'string') {
            real.reset()
            dry.mutate(req)
          }
        }}
      >
        <Field>
          <Label htmlFor={ids.mode}>Rewind to</Label>
          <Select id={ids.mode} value={form.mode} onChange={(e) => edit({ mode: e.target.value as RewindMode })}>
            <option value="time">A time</option>
            <option value="earliest">Earliest retained</option>
            <option value="latest">Latest (skip the lag)</option>
            <option value="offset">An offset</option>
          </Select>
        </Field>
        {form.mode === 'time' && (
          <Field>
            <Label htmlFor={ids.time}>Time (RFC 3339)</Label>
            <Input id={ids.time} className="w-56" value={form.time} onChange={(e) => edit({ time: e.target.value })} />
          </Field>
        )}
        {form.mode === 'offset' && (
          <Field>
            <Label htmlFor={ids.offset}>Offset</Label>
            <Input
              id={ids.offset}
              className="w-48"
              placeholder="120 or 0=120,2=40"
              value={form.offset}
              onChange={(e) => edit({ offset: e.target.value })}
            />
          </Field>
        )}
        <Field>
          <Label htmlFor={ids.partitions}>Partitions</Label>
          <Input
            id={ids.partitions}
            className="w-32"
            placeholder="all"
            value={form.partitions}
            onChange={(e) => edit({ partitions: e.target.value })}
          />
        </Field>
        <div className="mt-5 flex gap-2">
          <Button type="submit" disabled={busy || invalid !== null || !operate.allowed}>
            Dry run
          </Button>
          <Button
            variant="primary"
            tone="red"
            disabled={busy || plan === null || !operate.allowed}
            onClick={() => {
              if (dry.variables !== undefined) real.mutate({ ...dry.variables, dry_run: false })
            }}
          >
            Rewind
          </Button>
        </div>
      </form>
      {invalid !== null && <Hint error>{invalid}</Hint>}
      <RoleNote permission={operate} />
      <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
        A dry run shows what the rewind does; Rewind then applies exactly that. The members pause the partitions, move
        them and go on; reprocessed events keep their single stored row.
      </p>
      {failure !== null && <ErrorText>{errorMessage(failure)}</ErrorText>}
      <div aria-live="polite" className="mt-3 flex flex-col gap-3">
        {(done ?? plan) !== null && <p className="text-sm">{planSummary((done ?? plan) as RewindPlan)}</p>}
        {(done ?? plan) !== null && (
          <DataTable
            caption={done !== null ? 'Rewound partitions' : 'Dry run partitions'}
            columns={COLUMNS}
            rows={((done ?? plan) as RewindPlan).partitions}
            rowKey={(p) => p.partition}
          />
        )}
      </div>
    </Card>
  )
}
