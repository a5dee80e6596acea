import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { createToken, revokeToken, type NewToken } from '../api/accounts'
import { keys } from '../api/queries'
import { ROLES, roleSchema, type Account, type APIToken, type Role, type TokenCreated } from '../api/schema'
import { dateTime, errorMessage } from '../format'
import { Badge, type BadgeTone } from './ui/Badge'
import { Button } from './ui/Button'
import { CopyButton } from './ui/CopyButton'
import { Field, Input, Label, Select } from './ui/Field'
import { ErrorText } from './ui/State'
import { DataTable, type Column } from './ui/Table'

/** How long a new token lasts: the server's expires_in, "" for until revoked. */
export const EXPIRIES: readonly { value: string; label: string }[] = [
  { value: '', label: 'Never (until revoked)' },
  { value: '12h', label: '12 hours' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
]

type Status = 'Active' | 'Expired' | 'Revoked'

/** A token's state at now. */
export function tokenStatus(t: APIToken, now = Date.now()): Status {
  if (t.revoked_at !== null) return 'Revoked'
  if (t.expires_at !== null && Date.parse(t.expires_at) <= now) return 'Expired'
  return 'Active'
}

const STATUS_TONE: Record<Status, BadgeTone> = { Active: 'green', Expired: 'amber', Revoked: 'slate' }

function Revoke({ token }: { token: APIToken }) {
  const [confirming, setConfirming] = useState(false)
  const client = useQueryClient()
  const revoke = useMutation({
    mutationKey: keys.revokeToken,
    mutationFn: () => revokeToken(token.id),
    onSettled: () => {
      setConfirming(false)
      return client.invalidateQueries({ queryKey: keys.tokens })
    },
  })
  if (tokenStatus(token) === 'Revoked') return null
  return (
    <div className="flex flex-col gap-1 text-left">
      {confirming ? (
        <div className="flex flex-wrap items-center gap-2">
          <span>Revoke {token.name}? Scripts using it are refused from now on.</span>
          <Button tone="red" variant="primary" size="sm" disabled={revoke.isPending} onClick={() => revoke.mutate()}>
            Revoke
          </Button>
          <Button size="sm" variant="quiet" onClick={() => setConfirming(false)}>
            Cancel
          </Button>
        </div>
      ) : (
        <Button size="sm" aria-label={`Revoke ${token.name}…`} onClick={() => setConfirming(true)}>
          Revoke…
        </Button>
      )}
      {revoke.error && <ErrorText>{errorMessage(revoke.error)}</ErrorText>}
    </div>
  )
}

function columns(accounts: readonly Account[]): Column<APIToken>[] {
  const email = new Map(accounts.map((a) => [a.id, a.email]))
  return [
    { header: 'Name', cell: (t) => t.name, className: 'font-medium break-all' },
    { header: 'Role', cell: (t) => t.role },
    {
      header: 'Made by',
      cell: (t) => (t.account_id === '' ? 'the command line' : (email.get(t.account_id) ?? 'a removed account')),
      className: 'break-all',
    },
    { header: 'Created', cell: (t) => dateTime(t.created_at) },
    { header: 'Expires', cell: (t) => (t.expires_at === null ? 'never' : dateTime(t.expires_at)) },
    { header: 'Last used', cell: (t) => (t.last_used_at === null ? 'never' : dateTime(t.last_used_at)) },
    {
      header: 'Status',
      cell: (t) => {
        const s = tokenStatus(t)
        return <Badge tone={STATUS_TONE[s]}>{s}</Badge>
      },
    },
    { header: 'Actions', hideHeader: true, cell: (t) => <Revoke token={t} /> },
  ]
}

/** The API tokens, revoked ones too: who made each, when it expires and was last used, and Revoke. */
export function TokensTable({ tokens, accounts }: { tokens: readonly APIToken[]; accounts: readonly Account[] }) {
  return (
    <DataTable
      caption="API tokens"
      columns={columns(accounts)}
      rows={tokens}
      rowKey={(t) => t.id}
      empty="No API token yet."
    />
  )
}

/** The secret of a token just made, with a copy button: the one time it is shown. */
function Secret({ created, onDone }: { created: TokenCreated; onDone: () => void }) {
  return (
    <div
      role="status"
      className="flex flex-col gap-2 rounded-md border border-green-300 bg-green-50 p-3 text-sm dark:border-green-800 dark:bg-green-950"
    >
      <p className="font-medium">Created {created.token.name}. Copy its secret now: it will not be shown again.</p>
      <div className="flex flex-wrap items-center gap-2">
        <code aria-label={`The secret of ${created.token.name}`} className="font-mono break-all">
          {created.secret}
        </code>
        <CopyButton text={created.secret} label={`Copy the secret of ${created.token.name}`} />
      </div>
      <div>
        <Button size="sm" onClick={onDone}>
          Done, I have copied it
        </Button>
      </div>
    </div>
  )
}

/** The form that makes an API token: its name, role and lifetime; then its secret, once. */
export function NewTokenForm() {
  const id = useId()
  const [name, setName] = useState('')
  const [role, setRole] = useState<Role>('viewer')
  const [expires, setExpires] = useState('')
  const [created, setCreated] = useState<TokenCreated | null>(null)
  const client = useQueryClient()
  const create = useMutation({
    mutationKey: keys.createToken,
    mutationFn: (req: NewToken) => createToken(req),
    onSuccess: (c) => {
      setCreated(c)
      setName('')
    },
    onSettled: () => client.invalidateQueries({ queryKey: keys.tokens }),
  })
  return (
    <div className="flex flex-col gap-3">
      <form
        aria-label="Create an API token"
        noValidate
        className="flex flex-wrap items-end gap-4"
        onSubmit={(e) => {
          e.preventDefault()
          setCreated(null)
          create.mutate({ name: name.trim(), role, ...(expires === '' ? {} : { expires_in: expires }) })
        }}
      >
        <Field>
          <Label htmlFor={`${id}-name`}>Name</Label>
          <Input
            id={`${id}-name`}
            className="w-56"
            value={name}
            placeholder="ci-deploy"
            onChange={(e) => setName(e.target.value)}
          />
        </Field>
        <Field>
          <Label htmlFor={`${id}-role`}>Role</Label>
          <Select
            id={`${id}-role`}
            value={role}
            onChange={(e) => {
              const r = roleSchema.safeParse(e.target.value)
              if (r.success) setRole(r.data)
            }}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </Select>
        </Field>
        <Field>
          <Label htmlFor={`${id}-expires`}>Expires</Label>
          <Select id={`${id}-expires`} value={expires} onChange={(e) => setExpires(e.target.value)}>
            {EXPIRIES.map((x) => (
              <option key={x.value} value={x.value}>
                {x.label}
              </option>
            ))}
          </Select>
        </Field>
        <Button type="submit" variant="primary" disabled={create.isPending || name.trim() === ''}>
          Create token
        </Button>
      </form>
      {create.error && <ErrorText>{errorMessage(create.error)}</ErrorText>}
      {created && <Secret created={created} onDone={() => setCreated(null)} />}
    </div>
  )
}
