// Personal fields through a real server: an admin declares properties.email
// personal on the Privacy page; a viewer then finds neither a user's id nor
// their email anywhere in the live feed, the explorer, a timeline or a CSV
// export, sees the masked values' cue, and cannot search by user, while the
// admin reads the same values as they are. Then the admin erases the user:
// their events leave the explorer and the erased list names their hash.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request, type Browser, type Page } from '@playwright/test'
import { expect, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { ExplorerView, FeedPanel, Nav, SessionHeader, SignInView } from './pages.ts'
import type { PulseServer, SeedAccount } from './server.ts'

const viewer: SeedAccount = { email: 'viewer@example.com', role: 'viewer', password: 'viewer-password' }
const admin: SeedAccount = { email: 'admin@example.com', role: 'admin', password: 'admin-password' }

const SECRET_USER = 'secret-user-e2e'
const SECRET_EMAIL = 'secret@e2e.example'
const MASKED_NOTE = 'masked: a personal field'

/** Produces the secret user's events and another user's, as the admin, and waits until they are stored. */
async function seed(server: PulseServer): Promise<void> {
  const api = await request.newContext({ baseURL: server.base })
  try {
    const login = await api.post('/api/auth/login/', { data: { email: admin.email, password: admin.password } })
    expect(login.status(), 'login').toBe(200)
    const { csrf_token } = (await login.json()) as { csrf_token: string }
    const now = Date.now()
    const events = [0, 1, 2].flatMap((i) => [
      {
        user_id: SECRET_USER,
        session_id: `secret-session-${i}`,
        event_type: 'signup',
        page: '/signup',
        properties: { email: SECRET_EMAIL, plan: 'pro' },
        timestamp: new Date(now - (i + 1) * 60_000).toISOString(),
      },
      {
        user_id: 'plain-user-e2e',
        event_type: 'page_view',
        page: '/home',
        timestamp: new Date(now - (i + 1) * 61_000).toISOString(),
      },
    ])
    const batch = await api.post('/api/events/batch/', {
      headers: { 'X-CSRF-Token': csrf_token },
      data: { events },
    })
    expect(batch.status(), `batch: ${await batch.text()}`).toBe(201)
    await expect
      .poll(async () => ((await (await api.get('/api/queue/stats/')).json()) as { completed: number }).completed, {
        message: `${events.length} events stored`,
        timeout: STEP_TIMEOUT,
      })
      .toBe(events.length)
  } finally {
    await api.dispose()
  }
}

const pulse = usePulse(seed, { accounts: [viewer, admin] })

// Chromium logs the 401 that asks for a sign-in.
test.use({ allowedConsoleErrors: [/the server responded with a status of 401/] })

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
  return (await browser.newContext()).newPage()
}

/** Opens the timeline of the explorer's first signup and returns the dialog's text. */
async function signupTimeline(page: Page): Promise<string> {
  const explorer = new ExplorerView(page)
  await explorer
    .rows('signup')
    .first()
    .getByRole('button', { name: /^Timeline/ })
    .click()
  const dialog = page.getByRole('dialog', { name: 'Message timeline' })
  await expect(dialog.getByText('"plan": "pro"')).toBeVisible({ timeout: STEP_TIMEOUT })
  const text = (await dialog.textContent()) ?? ''
  await dialog.getByRole('button', { name: 'Close' }).click()
  await expect(dialog).toHaveCount(0)
  return text
}

test('personal fields are masked for a viewer everywhere, and shown to an admin', async ({ page, browser }) => {
  await test.step('an admin declares properties.email personal', async () => {
    await signIn(page, '#/', admin)
    await new Nav(page).go('Privacy')
    const list = page.getByRole('list', { name: 'Personal fields' })
    await expect(list.getByText('user_id', { exact: true })).toBeVisible({ timeout: STEP_TIMEOUT })
    await page.getByLabel('Add a field').fill('properties.email')
    await page.getByRole('button', { name: 'Add', exact: true }).click()
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(list.getByText('properties.email', { exact: true })).toBeVisible()
    await screenshot(page, 'privacy-fields')
  })

  await test.step('the admin reads the values as they are', async () => {
    await new Nav(page).go('Explorer')
    const explorer = new ExplorerView(page)
    await expect(explorer.rows('signup').first()).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(explorer.rows('signup').first().getByRole('link', { name: SECRET_USER, exact: true })).toBeVisible()
    await expect(explorer.form.getByLabel('User', { exact: true })).toBeEnabled()
    expect(await signupTimeline(page)).toContain(SECRET_EMAIL)
  })

  const seen = await otherBrowser(browser)
  await test.step('a viewer finds neither value in the live feed', async () => {
    await signIn(seen, '#/', viewer)
    const feed = new FeedPanel(seen)
    await feed.expectRow('signup')
    await expect(feed.region.getByTitle(MASKED_NOTE).first()).toBeVisible()
    const html = await seen.content()
    expect(html).not.toContain(SECRET_USER)
    expect(html).not.toContain(SECRET_EMAIL)
    await screenshot(seen, 'privacy-viewer-feed')
  })

  await test.step('nor in the explorer or a timeline, and cannot search by user', async () => {
    await new Nav(seen).go('Explorer')
    const explorer = new ExplorerView(seen)
    await expect(explorer.rows('signup').first()).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(explorer.form.getByLabel('User', { exact: true })).toBeDisabled({ timeout: STEP_TIMEOUT })
    await expect(explorer.form.getByLabel('Session', { exact: true })).toBeDisabled()
    await expect(seen.getByText(/personal fields: searching by them needs the admin role/)).toBeVisible()
    const cue = explorer.rows('signup').first().getByTitle(MASKED_NOTE).first()
    await expect(cue).toHaveText(/^masked-[0-9a-f]{12}/)
    await expect(explorer.rows().getByRole('link')).toHaveCount(0)
    const timeline = await signupTimeline(seen)
    expect(timeline).not.toContain(SECRET_EMAIL)
    expect(timeline).toMatch(/"email": "masked-[0-9a-f]{12}"/)
    const html = await seen.content()
    expect(html).not.toContain(SECRET_USER)
    expect(html).not.toContain(SECRET_EMAIL)
    await screenshot(seen, 'privacy-viewer-explorer')
  })

  await test.step('nor in a CSV export', async () => {
    const [download] = await Promise.all([
      seen.waitForEvent('download', { timeout: STEP_TIMEOUT }),
      seen.getByRole('link', { name: 'Export CSV' }).click(),
    ])
    const csv = readFileSync(await download.path(), 'utf8')
    expect(csv).toContain('signup')
    expect(csv).toMatch(/masked-[0-9a-f]{12}/)
    expect(csv).not.toContain(SECRET_USER)
    expect(csv).not.toContain(SECRET_EMAIL)
  })

  await test.step("the viewer's navigation has no Privacy", async () => {
    await expect(seen.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Privacy' })).toHaveCount(0)
  })
  await seen.context().close()
})

test('an admin erases a user: their events are gone and the erased list shows them', async ({ page }) => {
  await signIn(page, `#/explorer?event_type=signup`, admin)
  const explorer = new ExplorerView(page)
  await expect(explorer.rows(SECRET_USER)).toHaveCount(3, { timeout: STEP_TIMEOUT })

  await new Nav(page).go('Privacy')
  await page.getByLabel('User ID', { exact: true }).fill(SECRET_USER)
  await page.getByRole('button', { name: 'Erase…' }).click()
  const dialog = page.getByRole('dialog', { name: 'Erase a user' })
  await expect(dialog.getByText(/It is irreversible\./)).toBeVisible()
  const erase = dialog.getByRole('button', { name: `Erase ${SECRET_USER}` })
  await expect(erase).toBeDisabled()
  await dialog.getByLabel('Type the user id again to confirm').fill(SECRET_USER)
  await erase.click()
  await expect(
    page.getByRole('status').filter({ hasText: `Erased ${SECRET_USER}: 3 events and 3 messages deleted.` }),
  ).toBeVisible({ timeout: STEP_TIMEOUT })
  const hash = createHash('sha256').update(SECRET_USER).digest('hex')
  const erased = page.getByRole('table', { name: 'Erased users, newest first' })
  const row = erased.getByRole('row').filter({ hasText: `${hash.slice(0, 12)}…` })
  await expect(row).toBeVisible({ timeout: STEP_TIMEOUT })
  await expect(row.getByText(admin.email)).toBeVisible()
  await expect(row.getByTitle(hash)).toBeVisible()
  await screenshot(page, 'privacy-erased')

  await new Nav(page).go('Explorer')
  await explorer.search({ Type: 'signup' })
  await expect(page.getByText('No events match.')).toBeVisible({ timeout: STEP_TIMEOUT })
  await explorer.search({ Type: '' })
  await expect(explorer.rows('plain-user-e2e').first()).toBeVisible({ timeout: STEP_TIMEOUT })
  expect(await page.content()).not.toContain(SECRET_USER)
})
