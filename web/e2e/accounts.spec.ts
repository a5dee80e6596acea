// Accounts against a real server that has them, so it asks for a sign-in:
// what each role may do (a viewer reads, an operator runs load and replays,
// only an admin sees Accounts), a wrong password in the server's words, a
// session ended from elsewhere sending the next action to the sign-in page
// and back to the same page after it, an API token shown once and revoked,
// and signing out.

import { readFileSync } from 'node:fs'
import AxeBuilder from '@axe-core/playwright'
import type { Browser, Page } from '@playwright/test'
import { expect, RETRY_TIMEOUT, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { AccountsView, DLQView, LoadView, Nav, SessionHeader, SignInView } from './pages.ts'
import type { SeedAccount } from './server.ts'

const viewer: SeedAccount = { email: 'viewer@example.com', role: 'viewer', password: 'viewer-password' }
const operator: SeedAccount = { email: 'operator@example.com', role: 'operator', password: 'operator-password' }
const admin: SeedAccount = { email: 'admin@example.com', role: 'admin', password: 'admin-password' }

/** The axe-core tags of the WCAG 2 A and AA success criteria (as views.spec.ts checks every view). */
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

const pulse = usePulse(undefined, { accounts: [viewer, operator, admin] })

// Chromium logs each refused request: the 401 that asks for a sign-in, the
// 401 of a session that ended, a refused password, a refused role.
test.use({ allowedConsoleErrors: [/the server responded with a status of (401|403)/] })

/** Opens hash on the server, signs in as a on the page it asks for, and waits for the console. */
async function signIn(page: Page, hash: string, a: SeedAccount): Promise<void> {
  await page.goto(`${pulse.server().base}/${hash}`)
  const signInPage = new SignInView(page)
  await signInPage.expectShown()
  await signInPage.submit(a.email, a.password)
  await new SessionHeader(page).expectSignedIn(a.email, a.role)
}

/** A page of its own (cookies and all), as another browser would be. */
async function otherBrowser(browser: Browser): Promise<Page> {
  const context = await browser.newContext()
  return context.newPage()
}

test('asks for a sign-in, and says when the password is wrong', async ({ page }) => {
  await page.goto(`${pulse.server().base}/#/load`)
  const signInPage = new SignInView(page)
  await signInPage.expectShown()
  // Nothing of the console, and no live connection, before the server knows who asks.
  await expect(page.getByRole('navigation', { name: 'Views' })).toHaveCount(0)
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme })
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze()
    expect(
      violations.map((v) => `${v.id}: ${v.help}`),
      `axe, ${colorScheme}`,
    ).toEqual([])
  }
  await signInPage.submit(viewer.email, 'not-the-password')
  await expect(signInPage.error()).toHaveText('wrong email or password', { timeout: STEP_TIMEOUT })
  await screenshot(page, 'sign-in-wrong-password')
  await signInPage.submit(viewer.email, viewer.password)
  await expect(page.getByRole('heading', { name: 'Load runs', level: 1 })).toBeVisible({ timeout: STEP_TIMEOUT })
})

test('a viewer reads everything, live, but cannot start a load run or replay', async ({ page }) => {
  await signIn(page, '#/load', viewer)
  const load = new LoadView(page)
  const start = load.form.getByRole('button', { name: 'Start' })
  await expect(start).toBeDisabled()
  await expect(start).toHaveAttribute('title', 'Needs the operator role; you have viewer.')
  await expect(page.getByText('Needs the operator role; you have viewer.')).toBeVisible()
  await expect(page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Accounts' })).toHaveCount(0)
  // The live socket goes with the session cookie.
  await expect(page.locator('header').getByRole('status').filter({ hasText: 'Connected' })).toBeVisible({
    timeout: STEP_TIMEOUT,
  })

  await new Nav(page).go('Dead letters')
  await expect(new DLQView(page).replay.getByText('Needs the operator role; you have viewer.')).toBeVisible()

  // The server refuses on its own, whatever the page shows.
  const me = (await (await page.request.get(`${pulse.server().base}/api/auth/me/`)).json()) as { csrf_token: string }
  const refused = await page.request.post(`${pulse.server().base}/api/load/`, {
    headers: { 'X-CSRF-Token': me.csrf_token },
    data: { events_per_second: 1, duration_seconds: 1 },
  })
  expect(refused.status()).toBe(403)
  expect(((await refused.json()) as { error: string }).error).toBe('this needs the operator role; you have viewer')
})

test('an operator runs load and replays its dead letters', async ({ page }) => {
  await signIn(page, '#/load', operator)
  await expect(page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Accounts' })).toHaveCount(0)
  const load = new LoadView(page)
  await load.start({ rate: 10, duration: 1, failurePercent: 50 })
  await load.expectDone(STEP_TIMEOUT)

  await new Nav(page).go('Dead letters')
  const dlq = new DLQView(page)
  await expect(dlq.group('simulated failure')).toBeVisible({ timeout: RETRY_TIMEOUT })
  await dlq.selectGroup('simulated failure')
  expect(await dlq.dryRun()).toBeGreaterThan(0)
})

test('only an admin sees Accounts; a token is shown once, works, and is refused once revoked', async ({ page }) => {
  await signIn(page, '#/', admin)
  await new Nav(page).go('Accounts')
  const accounts = new AccountsView(page)
  for (const a of [viewer, operator, admin]) await expect(accounts.accountRow(a.email)).toBeVisible()

  const secret = await accounts.createToken('ci-e2e', 'operator')
  expect(secret).toMatch(/^plt_/)
  await expect(page.getByText('Copy its secret now: it will not be shown again.')).toBeVisible()
  await expect(page.getByRole('button', { name: 'Copy the secret of ci-e2e' })).toBeVisible()
  await screenshot(page, 'accounts-token-created')
  await page.getByRole('button', { name: 'Done, I have copied it' }).click()
  await expect(page.getByText(secret)).toHaveCount(0)
  await expect(accounts.tokenRow('ci-e2e').getByText('Active', { exact: true })).toBeVisible()

  const asToken = () => fetch(`${pulse.server().base}/api/auth/me/`, { headers: { Authorization: `Bearer ${secret}` } })
  const used = await asToken()
  expect(used.status).toBe(200)
  expect(((await used.json()) as { kind: string; role: string }).role).toBe('operator')

  await accounts.revokeToken('ci-e2e')
  expect((await asToken()).status).toBe(401)
})

test('a session ended elsewhere sends the next action to the sign-in page, and back to the page after', async ({
  page,
  browser,
}) => {
  // The admin adds an account for someone, who signs in in a browser of their own.
  await signIn(page, '#/accounts', admin)
  const accounts = new AccountsView(page)
  const temp: SeedAccount = { email: 'temp@example.com', role: 'viewer', password: 'temporary-password' }
  await accounts.addAccount(temp.email, temp.role, temp.password)

  const theirs = await otherBrowser(browser)
  const hash = '#/explorer?user_id=user_e2e'
  await theirs.goto(`${pulse.server().base}/${hash}`)
  const theirSignIn = new SignInView(theirs)
  await theirSignIn.expectShown()
  await theirSignIn.submit(temp.email, temp.password)
  await new SessionHeader(theirs).expectSignedIn(temp.email, temp.role)
  await expect(theirs.getByLabel('User', { exact: true })).toHaveValue('user_e2e')

  // The admin removes the account: its session ends with it.
  await accounts.removeAccount(temp.email)

  // Their next action finds out, and the sign-in page says why.
  // (The live socket asks again every 10 s and may find out first: then the sign-in page is there already.)
  const search = theirs.getByRole('search', { name: 'Filter events' }).getByRole('button', { name: 'Search' })
  await search.click({ timeout: 2_000 }).catch(() => undefined)
  await theirSignIn.expectShown()
  await expect(theirSignIn.reason()).toHaveText('the session has ended: sign in again')
  expect(new URL(theirs.url()).hash).toBe(hash)

  // Signed in again (another account), they are back where they were, the filter too.
  await theirSignIn.submit(viewer.email, viewer.password)
  await new SessionHeader(theirs).expectSignedIn(viewer.email, viewer.role)
  await expect(theirs.getByRole('heading', { name: 'Explorer', level: 1 })).toBeVisible()
  await expect(theirs.getByLabel('User', { exact: true })).toHaveValue('user_e2e')
  expect(new URL(theirs.url()).hash).toBe(hash)
  await theirs.context().close()
})

test('signing out everywhere ends the other browsers’ sessions, an idle one too; signing out stays signed out', async ({
  page,
  browser,
}) => {
  // The explorer polls nothing: only the live socket can find out.
  await signIn(page, '#/explorer', operator)
  const other = await otherBrowser(browser)
  await signIn(other, '#/', operator)
  await new SessionHeader(other).signOut(true)
  await new SignInView(other).expectShown()

  // This browser does nothing: its live socket, asked again every 10 s, is closed with 4401 (sign in again).
  const signInPage = new SignInView(page)
  await expect(signInPage.heading).toBeVisible({ timeout: 2 * STEP_TIMEOUT })
  await expect(signInPage.reason()).toHaveText('the session has ended: sign in again')
  expect(new URL(page.url()).hash).toBe('#/explorer')

  await signInPage.submit(operator.email, operator.password)
  const header = new SessionHeader(page)
  await header.expectSignedIn(operator.email, operator.role)
  await expect(page.getByRole('heading', { name: 'Explorer', level: 1 })).toBeVisible()
  await header.signOut()
  await signInPage.expectShown()
  await page.reload()
  await signInPage.expectShown()
  await expect(signInPage.reason()).toHaveCount(0)
  await other.context().close()
})

test('the audit log lists a refused sign-in and an admin action, filters them and exports them', async ({ page }) => {
  // A refused sign-in, by a browser of its own.
  const refused = await page.request.post(`${pulse.server().base}/api/auth/login/`, {
    data: { email: 'intruder@example.com', password: 'guess' },
  })
  expect(refused.status()).toBe(401)
  await signIn(page, '#/audit', admin)
  const table = page.getByRole('table', { name: 'Audit log entries, newest first' })
  await expect(table.getByRole('row').filter({ hasText: 'intruder@example.com' })).toContainText('refused 401', {
    timeout: STEP_TIMEOUT,
  })
  await expect(table.getByRole('row').filter({ hasText: admin.email }).first()).toBeVisible()
  await page.getByLabel('Outcome').selectOption('refused')
  await expect(table.getByRole('row').filter({ hasText: 'ok 200' })).toHaveCount(0, { timeout: STEP_TIMEOUT })
  await expect(table.getByRole('row').filter({ hasText: 'intruder@example.com' })).toBeVisible()
  const download = page.waitForEvent('download')
  await page.getByRole('link', { name: 'Export CSV' }).click()
  const file = await (await download).path()
  const csv = readFileSync(file, 'utf8')
  expect(csv.split('\n')[0]).toBe('id,at,actor,account_id,client_ip,action,target,outcome,status,detail,request_id')
  expect(csv).toContain('intruder@example.com')
  expect(csv).not.toContain(',ok,')
})

test('only an admin sees the audit log', async ({ page }) => {
  await signIn(page, '#/', viewer)
  await expect(page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Audit log' })).toHaveCount(0)
})
