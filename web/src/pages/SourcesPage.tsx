import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { ApiError, createSource, revokeSource, updateSource, type NewSource } from '../api/client'
import { keys } from '../api/queries'
import { planModeSchema, type PlanMode, type SourcesView, type TrackingSource } from '../api/schema'
import { RoleNote } from '../components/RoleNote'
import { SourcePrivacy } from '../components/SourcePrivacy'
import { Badge } from '../components/ui/Badge'
import { Button } from '../components/ui/Button'
import { Card } from '../components/ui/Card'
import { CopyButton } from '../components/ui/CopyButton'
import { Field, Hint, Input, Label, Select } from '../components/ui/Field'
import { Empty, ErrorText, Loading } from '../components/ui/State'
import { dateTime, errorMessage } from '../format'
import { useSources } from '../hooks/resources'
import { useAllowed } from '../hooks/role'

/** The tag a site pastes: pulse.js from this server, with the source's key (and its hash when the server knows it). */
export function scriptTag(origin: string, tracker: SourcesView['tracker'], key: string): string {
  const integrity = tracker.integrity === '' ? '' : ` integrity="${tracker.integrity}" crossorigin="anonymous"`
  return `<script defer src="${origin}${tracker.url_path}" data-key="${key}"${integrity}></script>`
}

/** The origins a user typed, one per line or comma separated. */
export function parseOrigins(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Which field of the form an API error is about: its message starts with the field's name. */
function fieldOf(err: unknown): 'name' | 'origins' | null {
  if (!(err instanceof ApiError)) return null
  if (err.status === 409 || err.message.startsWith('name')) return 'name'
  if (err.message.startsWith('origins')) return 'origins'
  return null
}

function CreateForm({ onCreated }: { onCreated: (s: TrackingSource) => void }) {
  const id = useId()
  const [name, setName] = useState('')
  const [origins, setOrigins] = useState('')
  const [dnt, setDnt] = useState(false)
  const queryClient = useQueryClient()
  const create = useMutation({
    mutationKey: keys.createSource,
    mutationFn: (req: NewSource) => createSource(req),
    onSuccess: (s) => {
      setName('')
      setOrigins('')
      setDnt(false)
      onCreated(s)
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.sources }),
  })
  const field = fieldOf(create.error)
  const operate = useAllowed('operator')
  const message = create.error === null ? null : errorMessage(create.error)
  const submit = (e: React.FormEvent) => {
    e.preventDefault()
    create.mutate({ name: name.trim(), origins: parseOrigins(origins), settings: { respect_dnt: dnt } })
  }
  return (
    <form onSubmit={submit} aria-label="Create a source" noValidate className="flex flex-col gap-4">
      <div className="flex flex-wrap gap-4">
        <Field>
          <Label htmlFor={`${id}-name`}>Name</Label>
          <Input
            id={`${id}-name`}
            value={name}
            required
            className="w-56"
            aria-invalid={field === 'name'}
            aria-describedby={field === 'name' ? `${id}-error` : undefined}
            onChange={(e) => setName(e.target.value)}
          />
        </Field>
        <Field className="min-w-64 flex-1">
          <Label htmlFor={`${id}-origins`}>Allowed origins</Label>
          <textarea
            id={`${id}-origins`}
            rows={2}
            value={origins}
            placeholder="https://shop.example, *.shop.example"
            aria-invalid={field === 'origins'}
            aria-describedby={`${id}-origins-hint${field === 'origins' ? ` ${id}-error` : ''}`}
            onChange={(e) => setOrigins(e.target.value)}
            className="rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm text-slate-900 focus-visible:outline-2 focus-visible:outline-blue-600 aria-[invalid=true]:border-red-600 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
          />
          <Hint id={`${id}-origins-hint`}>
            One per line or comma separated. Browsers on other origins are refused; servers (no Origin header) are not.
          </Hint>
        </Field>
      </div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={dnt} onChange={(e) => setDnt(e.target.checked)} />
        Respect Do-Not-Track and Global Privacy Control (drop those browsers’ events)
      </label>
      <div className="flex flex-wrap items-end gap-4">
        <Button
          type="submit"
          variant="primary"
          disabled={create.isPending || name.trim() === '' || !operate.allowed}
          title={operate.why}
        >
          Create source
        </Button>
        <RoleNote permission={operate} />
      </div>
      {message && (
        <p id={`${id}-error`} role="alert" className="text-sm text-red-700 dark:text-red-400">
          {message}
        </p>
      )}
    </form>
  )
}

/** What each plan mode does, for the select. */
const PLAN_MODES: Record<PlanMode, string> = {
  off: 'Off: the plan is not checked',
  warn: 'Warn: stored, counted in the warnings',
  strict: 'Strict: refused with the reason',
}

function PlanModeSelect({ source }: { source: TrackingSource }) {
  const id = useId()
  const queryClient = useQueryClient()
  const change = useMutation({
    mutationKey: keys.updateSource,
    mutationFn: (plan: PlanMode) => updateSource(source.id, { settings: { plan } }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.sources }),
  })
  const mode = change.isPending && change.variables !== undefined ? change.variables : (source.settings.plan ?? 'off')
  const operate = useAllowed('operator')
  return (
    <Field>
      <Label htmlFor={id}>Tracking plan</Label>
      <Select
        id={id}
        value={mode}
        disabled={change.isPending || !operate.allowed}
        title={operate.why}
        aria-describedby={change.error ? `${id}-error` : undefined}
        onChange={(e) => {
          const m = planModeSchema.safeParse(e.target.value)
          if (m.success) change.mutate(m.data)
        }}
      >
        {planModeSchema.options.map((m) => (
          <option key={m} value={m}>
            {PLAN_MODES[m]}
          </option>
        ))}
      </Select>
      {change.error && (
        <p id={`${id}-error`} role="alert" className="text-sm text-red-700 dark:text-red-400">
          {errorMessage(change.error)}
        </p>
      )}
    </Field>
  )
}

function SourceRow({ source, tracker }: { source: TrackingSource; tracker: SourcesView['tracker'] }) {
  const [confirming, setConfirming] = useState(false)
  const queryClient = useQueryClient()
  const revoke = useMutation({
    mutationKey: keys.revokeSource,
    mutationFn: () => revokeSource(source.id),
    onSettled: () => {
      setConfirming(false)
      return queryClient.invalidateQueries({ queryKey: keys.sources })
    },
  })
  const revoked = source.revoked_at !== null
  const operate = useAllowed('operator')
  const tag = scriptTag(window.location.origin, tracker, source.write_key)
  return (
    <li className="flex flex-col gap-2 border-b border-slate-200 py-4 last:border-b-0 dark:border-slate-800">
      <div className="flex flex-wrap items-center gap-2">
        <h3 className="text-base font-semibold">{source.name}</h3>
        <Badge tone={revoked ? 'slate' : 'green'}>{revoked ? 'Revoked' : 'Active'}</Badge>
        <span className="font-mono text-xs text-slate-600 dark:text-slate-400">{source.id}</span>
        {source.settings.respect_dnt && <Badge tone="blue">Respects Do-Not-Track</Badge>}
        {(source.settings.plan ?? 'off') !== 'off' && <Badge tone="amber">Plan: {source.settings.plan}</Badge>}
        {source.settings.store_ip === true && <Badge tone="amber">Stores IP addresses</Badge>}
        {source.settings.retention && <Badge tone="slate">Kept {source.settings.retention}</Badge>}
      </div>
      <dl className="grid grid-cols-1 gap-x-6 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]">
        <dt className="text-slate-600 dark:text-slate-400">Write key</dt>
        <dd className="flex flex-wrap items-center gap-2">
          <code className="font-mono break-all">{source.write_key}</code>
          {!revoked && <CopyButton text={source.write_key} label={`Copy the write key of ${source.name}`} />}
        </dd>
        <dt className="text-slate-600 dark:text-slate-400">Origins</dt>
        <dd>{source.origins.length === 0 ? 'none: servers and scripts only' : source.origins.join(', ')}</dd>
        <dt className="text-slate-600 dark:text-slate-400">Created</dt>
        <dd>
          {dateTime(source.created_at)}
          {revoked && `, revoked ${dateTime(source.revoked_at)}`}
        </dd>
      </dl>
      {!revoked && (
        <>
          <div className="flex flex-wrap items-start gap-2">
            <pre
              aria-label={`The script tag of ${source.name}`}
              className="min-w-0 flex-1 overflow-x-auto rounded-md bg-slate-100 p-2 font-mono text-xs whitespace-pre-wrap break-all dark:bg-slate-800"
            >
              {tag}
            </pre>
            <CopyButton text={tag} label={`Copy the script tag of ${source.name}`} />
          </div>
          <PlanModeSelect source={source} />
          <SourcePrivacy source={source} />
          <div className="flex flex-wrap items-center gap-2">
            {confirming ? (
              <>
                <span className="text-sm">
                  Revoke {source.name}? Its key is refused from now on; its events and ledger stay.
                </span>
                <Button tone="red" variant="primary" disabled={revoke.isPending} onClick={() => revoke.mutate()}>
                  Revoke
                </Button>
                <Button onClick={() => setConfirming(false)}>Cancel</Button>
              </>
            ) : (
              <Button disabled={!operate.allowed} title={operate.why} onClick={() => setConfirming(true)}>
                Revoke…
              </Button>
            )}
          </div>
          {revoke.error && <ErrorText>{errorMessage(revoke.error)}</ErrorText>}
        </>
      )}
    </li>
  )
}

/** The sources: each one's key and ready-to-paste tag, a form to create one, and revocation. */
export function SourcesPage({ pollMs = 10_000 }: { pollMs?: number }) {
  const sources = useSources(pollMs)
  const [created, setCreated] = useState<TrackingSource | null>(null)
  const data = sources.data
  return (
    <div className="grid gap-6 xl:grid-cols-2">
      <Card title="New Source">
        <CreateForm onCreated={setCreated} />
        {created && (
          <p role="status" className="mt-3 text-sm">
            Created {created.name}: paste its tag below into every page of the site.
          </p>
        )}
      </Card>
      <Card title="Sources" className="xl:col-span-2">
        {sources.error && <ErrorText>Could not load the sources: {sources.error}</ErrorText>}
        {data === null ? (
          !sources.error && <Loading />
        ) : data.sources.length === 0 ? (
          <Empty>
            No source yet. A source is a site or app that sends events with pulse.js: create one above, or with{' '}
            <code className="font-mono">pulse sources create --name shop --origin https://shop.example</code>.
          </Empty>
        ) : (
          <ul aria-label="Sources">
            {data.sources.map((s) => (
              <SourceRow key={s.id} source={s} tracker={data.tracker} />
            ))}
          </ul>
        )}
      </Card>
    </div>
  )
}
