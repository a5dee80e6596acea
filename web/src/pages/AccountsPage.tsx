import { AccountsTable, NewAccountForm } from '../components/AccountsTable'
import { NewTokenForm, TokensTable } from '../components/TokensTable'
import { Card } from '../components/ui/Card'
import { ErrorText, Loading } from '../components/ui/State'
import { useAccounts, useTokens } from '../hooks/resources'
import { useWhoami } from '../hooks/role'

/**
 * The admin's page: who may sign in and with which role, and the API tokens
 * of scripts and CI. Every refusal is the server's own words.
 */
export function AccountsPage({ pollMs = 30_000 }: { pollMs?: number }) {
  const accounts = useAccounts(pollMs)
  const tokens = useTokens(pollMs)
  const open = useWhoami()?.kind === 'open'
  return (
    <div className="grid gap-6">
      <Card title="Accounts">
        {open && (
          <p className="mb-3 text-sm">
            This server is open to this machine because it has no account. Once you add one, everyone signs in, you too:
            give the first one the admin role and remember its password.
          </p>
        )}
        {accounts.error && <ErrorText>Could not load the accounts: {accounts.error}</ErrorText>}
        {accounts.data === null ? !accounts.error && <Loading /> : <AccountsTable accounts={accounts.data} />}
        <h3 className="mt-6 mb-2 text-sm font-semibold">Add an account</h3>
        <NewAccountForm />
      </Card>
      <Card title="API Tokens">
        <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
          For scripts and CI: sent as <code className="font-mono">Authorization: Bearer plt_…</code>, with the role
          chosen here.
        </p>
        <NewTokenForm />
        <div className="mt-4">
          {tokens.error && <ErrorText>Could not load the tokens: {tokens.error}</ErrorText>}
          {tokens.data === null ? (
            !tokens.error && <Loading />
          ) : (
            <TokensTable tokens={tokens.data} accounts={accounts.data ?? []} />
          )}
        </div>
      </Card>
    </div>
  )
}
