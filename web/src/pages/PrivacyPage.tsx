import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { eraseUser, getErased, MAX_PERSONAL_FIELDS, personalFieldProblem, putPersonalFields } from '../api/privacy'
import { keys } from '../api/queries'
import type { ErasedUser, EraseResult } from '../api/schema'
import { Button } from '../components/ui/Button'
import { LoadOlder } from '../components/ui/LoadOlder'
import { Card } from '../components/ui/Card'
import { CopyButton } from '../components/ui/CopyButton'
import { Dialog } from '../components/ui/Dialog'
import { Field, Hint, Input, Label } from '../components/ui/Field'
import { ErrorText, Loading } from '../components/ui/State'
import { DataTable, type Column } from '../components/ui/Table'
import { count, dateTime, errorMessage } from '../format'
import { usePersonalFields } from '../hooks/resources'

/** What an entry being added lacks, in words, or null: the server's rule, no duplicate, at most 50. */
function entryProblem(entry: string, fields: readonly string[]): string | null {
  if (entry === '') return null
  if (fields.includes(entry)) return `${entry} is already personal`
  if (fields.length >= MAX_PERSONAL_FIELDS) return `at most ${MAX_PERSONAL_FIELDS} fields may be personal`
  return personalFieldProblem(entry)
}

/** The declared personal fields: removed and added here, saved together (PUT). */
function PersonalFieldsCard({ pollMs }: { pollMs: number }) {
  const id = useId()
  const client = useQueryClient()
  const declared = usePersonalFields(pollMs)
  // The list being edited; null while it is the server's.
  const [draft, setDraft] = useState<string[] | null>(null)
  const [entry, setEntry] = useState('')
  const save = useMutation({
    mutationKey: keys.putPersonalFields,
    mutationFn: putPersonalFields,
    onSuccess: (saved) => {
      client.setQueryData(keys.personalFields, saved)
      setDraft(null)
    },
  })
  const fields = draft ?? declared.data?.fields ?? []
  const problem = entryProblem(entry.trim(), fields)
  const edit = (next: string[] | null) => {
    save.reset()
    setDraft(next)
  }
  const add = (e: React.FormEvent) => {
    e.preventDefault()
    const f = entry.trim()
    if (f === '' || problem !== null) return
    edit([...fields, f].sort())
    setEntry('')
  }
  return (
    <Card title="Personal fields">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
        Viewers and operators see these fields masked everywhere (a <code className="font-mono">masked-…</code>{' '}
        pseudonym, the same for the same value), in the live feed, the explorer, exports, timelines, dead letters and
        insights; their searches and filters by them are refused. Admins see the values.
      </p>
      {declared.error && <ErrorText>Could not load the personal fields: {declared.error}</ErrorText>}
      {declared.data === null && draft === null ? (
        !declared.error && <Loading />
      ) : fields.length === 0 ? (
        <p className="text-sm">No field is personal: every reader sees every value.</p>
      ) : (
        <ul aria-label="Personal fields" className="flex flex-wrap gap-2">
          {fields.map((f) => (
            <li
              key={f}
              className="flex items-center gap-1 rounded-md border border-slate-200 py-0.5 pr-0.5 pl-2 dark:border-slate-700"
            >
              <code className="font-mono text-sm">{f}</code>
              <Button
                size="sm"
                variant="quiet"
                aria-label={`Remove ${f}`}
                onClick={() => edit(fields.filter((x) => x !== f))}
              >
                ✕
              </Button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} className="mt-4 flex flex-wrap items-end gap-2">
        <Field>
          <Label htmlFor={`${id}-entry`}>Add a field</Label>
          <Input
            id={`${id}-entry`}
            className="w-64"
            value={entry}
            placeholder="properties.email"
            aria-invalid={problem !== null}
            aria-describedby={`${id}-entry-hint`}
            onChange={(e) => setEntry(e.target.value)}
          />
          <Hint id={`${id}-entry-hint`} error={problem !== null}>
            {problem ?? 'user_id, session_id, anonymous_id or properties.<key>[.<key>…]'}
          </Hint>
        </Field>
        <Button type="submit" className="mb-5" disabled={entry.trim() === '' || problem !== null}>
          Add
        </Button>
      </form>
      <div className="mt-2 flex flex-wrap items-center gap-3">
        <Button
          variant="primary"
          disabled={draft === null || save.isPending}
          aria-busy={save.isPending}
          onClick={() => save.mutate(fields)}
        >
          Save
        </Button>
        {draft !== null && !save.isPending && (
          <Button variant="quiet" onClick={() => edit(null)}>
            Discard changes
          </Button>
        )}
        {draft !== null && <span className="text-xs text-slate-600 dark:text-slate-400">Not saved yet.</span>}
        {save.isSuccess && draft === null && <span role="status">Saved.</span>}
      </div>
      {save.error && <ErrorText>Could not save the personal fields: {errorMessage(save.error)}</ErrorText>}
    </Card>
  )
}

/** The confirmation of an erasure: the id typed again, in a dialog that says what cannot be undone. */
function ConfirmErase({
  userId,
  onClose,
  onErased,
}: {
  userId: string
  onClose: () => void
  onErased: (r: EraseResult) => void
}) {
  const id = useId()
  const [typed, setTyped] = useState('')
  const client = useQueryClient()
  const erase = useMutation({
    mutationKey: keys.erase,
    mutationFn: () => eraseUser(userId),
    onSuccess: (r) => {
      void client.invalidateQueries({ queryKey: keys.erased })
      onErased(r)
    },
  })
  return (
    <Dialog title="Erase a user" subtitle={userId} onClose={onClose}>
      <form
        className="flex flex-col gap-3 text-sm"
        onSubmit={(e) => {
          e.preventDefault()
          if (typed === userId) erase.mutate()
        }}
      >
        <p>
          This deletes every event of <code className="font-mono break-all">{userId}</code>, their processing log and
          their aggregates. <strong>It is irreversible.</strong>
        </p>
        <p>
          The user stays on a suppression list, known only by a hash of their id: any future record of this user,
          delivered again or replayed, is dead-lettered.
        </p>
        <Field>
          <Label htmlFor={`${id}-again`}>Type the user id again to confirm</Label>
          <Input
            id={`${id}-again`}
            value={typed}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => setTyped(e.target.value)}
          />
        </Field>
        {erase.error && <ErrorText>Could not erase the user: {errorMessage(erase.error)}</ErrorText>}
        <div>
          <Button
            type="submit"
            variant="primary"
            tone="red"
            disabled={typed !== userId || erase.isPending}
            aria-busy={erase.isPending}
          >
            Erase {userId}
          </Button>
        </div>
      </form>
    </Dialog>
  )
}

/** Erasing a user: their id, then a confirmation; what was deleted is said after. */
function EraseCard() {
  const id = useId()
  const [userId, setUserId] = useState('')
  const [confirming, setConfirming] = useState<string | null>(null)
  // The latest erasure: whose, and what it deleted.
  const [done, setDone] = useState<{ userId: string; result: EraseResult } | null>(null)
  return (
    <Card title="Erase a user">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
        For a request to be forgotten: deletes the user’s events, processing log and aggregates, and dead-letters their
        records that come again.
      </p>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault()
          if (userId.trim() !== '') setConfirming(userId.trim())
        }}
      >
        <Field>
          <Label htmlFor={`${id}-user`}>User ID</Label>
          <Input
            id={`${id}-user`}
            className="w-64"
            value={userId}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => setUserId(e.target.value)}
          />
        </Field>
        <Button type="submit" disabled={userId.trim() === ''}>
          Erase…
        </Button>
      </form>
      {done !== null && (
        <p role="status" className="mt-3 text-sm">
          {done.result.already ? `${done.userId} was already erased; ` : `Erased ${done.userId}: `}
          {count(done.result.events)} events and {count(done.result.messages)} messages deleted.
        </p>
      )}
      {confirming !== null && (
        <ConfirmErase
          userId={confirming}
          onClose={() => setConfirming(null)}
          onErased={(result) => {
            setDone({ userId: confirming, result })
            setConfirming(null)
            setUserId('')
          }}
        />
      )}
    </Card>
  )
}

const shortHash = (h: string) => `${h.slice(0, 12)}…`

const ERASED_COLUMNS: readonly Column<ErasedUser>[] = [
  {
    header: 'User hash (SHA-256)',
    cell: (u) => (
      <span className="flex items-center gap-2">
        <code className="font-mono" title={u.user_hash}>
          {shortHash(u.user_hash)}
        </code>
        <CopyButton text={u.user_hash} label={`Copy the hash ${shortHash(u.user_hash)}`} />
      </span>
    ),
  },
  {
    header: 'Erased',
    cell: (u) => (
      <time dateTime={u.erased_at} title={u.erased_at}>
        {dateTime(u.erased_at)}
      </time>
    ),
    className: 'whitespace-nowrap',
  },
  { header: 'By', cell: (u) => u.erased_by || '—', className: 'break-all' },
  { header: 'Events', cell: (u) => count(u.events) },
  { header: 'Messages', cell: (u) => count(u.messages) },
]

/** The suppression list: erased users, newest first, paged back. */
function ErasedCard() {
  const pages = useInfiniteQuery({
    queryKey: keys.erased,
    queryFn: ({ pageParam, signal }) => getErased(pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_before,
  })
  const erased = pages.data?.pages.flatMap((p) => p.erased) ?? []
  return (
    <Card title="Erased users">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
        Only the SHA-256 of each id is kept: to check whether a user was erased, hash their id and look for it here.
      </p>
      {pages.error && <ErrorText>Could not read the erased users: {errorMessage(pages.error)}</ErrorText>}
      {pages.isPending ? (
        !pages.error && <Loading />
      ) : (
        <DataTable
          caption="Erased users, newest first"
          columns={ERASED_COLUMNS}
          rows={erased}
          rowKey={(u) => u.user_hash}
          empty="No user has been erased."
        />
      )}
      <LoadOlder pages={pages} />
    </Card>
  )
}

/**
 * The admin's privacy page: which fields are personal (masked for every
 * other role), the erasure of a user, and the users erased. Every refusal
 * is the server's own words.
 */
export function PrivacyPage({ pollMs = 30_000 }: { pollMs?: number }) {
  return (
    <div className="grid gap-6">
      <PersonalFieldsCard pollMs={pollMs} />
      <EraseCard />
      <ErasedCard />
    </div>
  )
}
