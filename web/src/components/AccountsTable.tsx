import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { createAccount, removeAccount, updateAccount, whoami, type NewAccount } from '../api/accounts'
import { keys } from '../api/queries'
import { ROLES, roleSchema, type Account, type Role } from '../api/schema'
import { dateTime, errorMessage } from '../format'
import { Button } from './ui/Button'
import { Field, Hint, Input, Label, Select } from './ui/Field'
import { ErrorText } from './ui/State'
import { DataTable, type Column } from './ui/Table'

/** What each role may do, for the selects. */
export const ROLE_LABEL: Record<Role, string> = {
  viewer: 'Viewer: reads everything',
  operator: 'Operator: also sends events, replays, runs load, edits sources and saved insights',
  admin: 'Admin: also the plan, kept properties, accounts and tokens',
}

function useRefreshAccounts() {
  const client = useQueryClient()
  return () => client.invalidateQueries({ queryKey: keys.accounts })
}

function RoleSelect({ account }: { account: Account }) {
  const id = useId()
  const refresh = useRefreshAccounts()
  const change = useMutation({
    mutationKey: keys.updateAccount,
    mutationFn: (role: Role) => updateAccount(account.id, { role }),
    // The signed-in account may be the one changed: read who we are again, so the console follows its new role.
    onSuccess: () => whoami({ announce: true }),
    onSettled: refresh,
  })
  const role = change.isPending && change.variables !== undefined ? change.variables : account.role
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="sr-only">
        Role of {account.email}
      </label>
      <Select
        id={id}
        value={role}
        disabled={change.isPending}
        aria-describedby={change.error ? `${id}-error` : undefined}
        onChange={(e) => {
          const r = roleSchema.safeParse(e.target.value)
          if (r.success) change.mutate(r.data)
        }}
      >
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </Select>
      {change.error && (
        <span id={`${id}-error`} role="alert" className="text-left text-red-700 dark:text-red-300">
          {errorMessage(change.error)}
        </span>
      )}
    </div>
  )
}

function ResetPassword({ account, onDone }: { account: Account; onDone: () => void }) {
  const id = useId()
  const [password, setPassword] = useState('')
  const reset = useMutation({
    mutationKey: keys.updateAccount,
    mutationFn: () => updateAccount(account.id, { password }),
  })
  if (reset.isSuccess) {
    return (
      <p role="status" className="flex flex-wrap items-center gap-2 text-left">
        Password changed: every session of {account.email} has ended.
        <Button size="sm" variant="quiet" onClick={onDone}>
          Done
        </Button>
      </p>
    )
  }
  return (
    <form
      aria-label={`Reset the password of ${account.email}`}
      noValidate
      className="flex flex-wrap items-end gap-2 text-left"
      onSubmit={(e) => {
        e.preventDefault()
        reset.mutate()
      }}
    >
      <Field>
        <Label htmlFor={id}>New password for {account.email}</Label>
        <Input
          id={id}
          type="password"
          autoComplete="new-password"
          value={password}
          aria-describedby={`${id}-hint`}
          onChange={(e) => setPassword(e.target.value)}
        />
        <Hint id={`${id}-hint`}>At least 8 characters. Their sessions end.</Hint>
      </Field>
      <Button type="submit" variant="primary" size="sm" disabled={reset.isPending || password === ''}>
        Set password
      </Button>
      <Button size="sm" variant="quiet" onClick={onDone}>
        Cancel
      </Button>
      {reset.error && <ErrorText>{errorMessage(reset.error)}</ErrorText>}
    </form>
  )
}

function Remove({ account, onDone }: { account: Account; onDone: () => void }) {
  const refresh = useRefreshAccounts()
  const client = useQueryClient()
  const remove = useMutation({
    mutationKey: keys.removeAccount,
    mutationFn: () => removeAccount(account.id),
    onSuccess: onDone,
    // Its tokens are revoked with it.
    onSettled: () => Promise.all([refresh(), client.invalidateQueries({ queryKey: keys.tokens })]),
  })
  return (
    <div className="flex flex-col gap-1 text-left">
      <div className="flex flex-wrap items-center gap-2">
        <span>Remove {account.email}? Their sessions end and their API tokens are revoked.</span>
        <Button tone="red" variant="primary" size="sm" disabled={remove.isPending} onClick={() => remove.mutate()}>
          Remove
        </Button>
        <Button size="sm" variant="quiet" onClick={onDone}>
          Cancel
        </Button>
      </div>
      {remove.error && <ErrorText>{errorMessage(remove.error)}</ErrorText>}
    </div>
  )
}

/** An account's row actions: one of resetting its password or removing it is open at a time. */
function Actions({ account }: { account: Account }) {
  const [open, setOpen] = useState<'reset' | 'remove' | null>(null)
  if (open === 'reset') return <ResetPassword account={account} onDone={() => setOpen(null)} />
  if (open === 'remove') return <Remove account={account} onDone={() => setOpen(null)} />
  return (
    <div className="flex flex-wrap justify-end gap-2 @2xl:justify-start">
      <Button size="sm" aria-label={`Reset the password of ${account.email}…`} onClick={() => setOpen('reset')}>
        Reset password…
      </Button>
      <Button size="sm" aria-label={`Remove ${account.email}…`} onClick={() => setOpen('remove')}>
        Remove…
      </Button>
    </div>
  )
}

const COLUMNS: readonly Column<Account>[] = [
  { header: 'Email', cell: (a) => a.email, className: 'font-medium break-all' },
  { header: 'Role', cell: (a) => <RoleSelect account={a} /> },
  { header: 'Last sign-in', cell: (a) => (a.last_sign_in_at === null ? 'never' : dateTime(a.last_sign_in_at)) },
  { header: 'Created', cell: (a) => dateTime(a.created_at) },
  { header: 'Actions', hideHeader: true, cell: (a) => <Actions account={a} /> },
]

/** The accounts: each one's role (a select that changes it), last sign-in, password reset and removal. */
export function AccountsTable({ accounts }: { accounts: readonly Account[] }) {
  return (
    <DataTable
      caption="Accounts"
      columns={COLUMNS}
      rows={accounts}
      rowKey={(a) => a.id}
      empty="No account yet: add one below."
    />
  )
}

/** The form that adds an account: its email, role and first password. */
export function NewAccountForm() {
  const id = useId()
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('viewer')
  const [password, setPassword] = useState('')
  const refresh = useRefreshAccounts()
  const create = useMutation({
    mutationKey: keys.createAccount,
    mutationFn: (req: NewAccount) => createAccount(req),
    onSuccess: () => {
      setEmail('')
      setPassword('')
    },
    onSettled: refresh,
  })
  const error = create.error === null ? null : errorMessage(create.error)
  return (
    <form
      aria-label="Add an account"
      noValidate
      className="flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault()
        create.mutate({ email: email.trim(), role, password })
      }}
    >
      <div className="flex flex-wrap gap-4">
        <Field>
          <Label htmlFor={`${id}-email`}>Email</Label>
          <Input
            id={`${id}-email`}
            type="email"
            autoComplete="off"
            className="w-64"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
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
                {ROLE_LABEL[r]}
              </option>
            ))}
          </Select>
        </Field>
        <Field>
          <Label htmlFor={`${id}-password`}>Password</Label>
          <Input
            id={`${id}-password`}
            type="password"
            autoComplete="new-password"
            value={password}
            aria-describedby={`${id}-password-hint`}
            onChange={(e) => setPassword(e.target.value)}
          />
          <Hint id={`${id}-password-hint`}>At least 8 characters.</Hint>
        </Field>
      </div>
      {error !== null && <ErrorText>{error}</ErrorText>}
      {create.data && error === null && (
        <p role="status" className="text-sm">
          Added {create.data.email} as {create.data.role}.
        </p>
      )}
      <div>
        <Button type="submit" variant="primary" disabled={create.isPending || email.trim() === '' || password === ''}>
          Add account
        </Button>
      </div>
    </form>
  )
}
