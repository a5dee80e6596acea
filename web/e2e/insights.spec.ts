// The Insights page counts what the server stored, by the time each event
// happened: events sent with their own timestamps land in their hours, a
// breakdown by page splits them, a link reproduces the view, and events
// stored while the page is open are counted on its next refresh.

import { expect, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'

const pulse = usePulse()

test('a trend counts the stored events by their time, page and type', async ({ page }) => {
  const server = pulse.server()
  const now = Date.now()
  const hour = 3_600_000
  const create = async (event_type: string, page: string, at: number) => {
    const r = await fetch(`${server.base}/api/events/create/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'user_ins', event_type, page, timestamp: new Date(at).toISOString() }),
    })
    expect(r.status, 'create').toBe(201)
  }
  const waitStored = async (n: number) =>
    expect
      .poll(
        async () =>
          ((await (await fetch(`${server.base}/api/queue/stats/`)).json()) as { completed: number }).completed,
        { message: `${n} events stored`, timeout: STEP_TIMEOUT },
      )
      .toBe(n)

  await test.step('signups on two pages, three hours ago and now, and page views', async () => {
    for (let i = 0; i < 3; i++) await create('signup', '/pricing', now - 3 * hour)
    for (let i = 0; i < 2; i++) await create('signup', '/home', now)
    for (let i = 0; i < 4; i++) await create('page_view', '/home', now)
    await waitStored(9)
  })

  await test.step('signups by page over 24 hours, from a link', async () => {
    await page.goto(`${server.base}/#/insights?type=signup&breakdown=page`)
    await expect(page.getByRole('status').filter({ hasText: 'events since' })).toContainText('5 events since')
    const rows = page.getByRole('table', { name: 'Trend totals' }).getByRole('row')
    await expect(rows.nth(1)).toContainText('/pricing')
    await expect(rows.nth(1)).toContainText('3')
    await expect(rows.nth(2)).toContainText('/home')
    await expect(rows.nth(2)).toContainText('2')
    await expect(page.getByLabel('signup')).toBeChecked()
    await expect(page.getByLabel('Breakdown')).toHaveValue('page')
  })

  await test.step('all types, by type, counts the page views too; a new event shows on the next refresh', async () => {
    await page.getByLabel('signup').uncheck()
    await page.getByLabel('Breakdown').selectOption('event_type')
    await expect(page.getByRole('status').filter({ hasText: 'events since' })).toContainText('9 events since')
    await create('page_view', '/cart', Date.now())
    await waitStored(10)
    await expect(page.getByRole('status').filter({ hasText: 'events since' })).toContainText('10 events since', {
      timeout: STEP_TIMEOUT,
    })
    await expect(page.getByRole('table', { name: 'Trend totals' }).getByRole('row').nth(1)).toContainText('page_view')
  })

  await test.step('purchasers by plan, counted once each, filtered by country, chosen on the page', async () => {
    for (const [user_id, plan, country] of [
      ['ann', 'pro', 'FR'],
      ['ann', 'pro', 'FR'],
      ['ann', 'pro', 'FR'],
      ['bob', 'free', 'FR'],
      ['cy', 'pro', 'DE'],
      ['cy', 'pro', 'DE'],
    ]) {
      const r = await fetch(`${server.base}/api/events/create/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id, event_type: 'purchase', properties: { plan, country } }),
      })
      expect(r.status, 'create').toBe(201)
    }
    await waitStored(16)
    await page.goto(`${server.base}/#/insights?type=purchase`)
    const status = page.getByRole('status').filter({ hasText: 'since' })
    await expect(status).toContainText('6 events since')
    await page.getByLabel('Count').selectOption('users')
    await expect(status).toContainText('3 users since')
    await page.getByLabel('Breakdown', { exact: true }).selectOption('properties.')
    await page.getByLabel('Breakdown: property key').fill('plan')
    const rows = page.getByRole('table', { name: 'Trend totals' }).getByRole('row')
    await expect(rows.nth(1)).toContainText('pro2')
    await expect(rows.nth(2)).toContainText('free1')
    await page.getByRole('button', { name: '+ Filter' }).click()
    const filter = page.getByRole('group', { name: 'Filter 1' })
    await filter.getByLabel('Field', { exact: true }).selectOption('properties.')
    await filter.getByLabel('Field: property key').fill('country')
    await filter.getByLabel('Value').fill('FR')
    await expect(status).toContainText('2 users since')
    // A tie is in the order of the values.
    await expect(rows.nth(1)).toContainText('free1')
    await expect(rows.nth(2)).toContainText('pro1')
    // The link holds the view.
    await page.reload()
    await expect(status).toContainText('2 users since')
    await expect(page.getByLabel('Count')).toHaveValue('users')
  })

  await test.step('purchases by plan, read from the rollups once plan is kept, new ones counted at once', async () => {
    await page.goto(`${server.base}/#/insights?type=purchase&breakdown=properties.plan`)
    const kept = page.getByRole('status').filter({ hasText: 'properties.plan is' })
    await expect(kept).toContainText('counted from the events of the range')
    const rows = page.getByRole('table', { name: 'Trend totals' }).getByRole('row')
    await expect(rows.nth(1)).toContainText('pro5')
    await expect(rows.nth(2)).toContainText('free1')
    await kept.getByRole('button', { name: 'Keep plan' }).click()
    // The server counts the stored events in the background, woken by the change.
    await expect(kept).toHaveText('properties.plan is read from the rollups.', { timeout: STEP_TIMEOUT })
    await expect(page.getByRole('list', { name: 'Kept property keys' })).toContainText('ready')
    await expect(rows.nth(1)).toContainText('pro5')
    await expect(rows.nth(2)).toContainText('free1')
    const r = await fetch(`${server.base}/api/events/create/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'dee', event_type: 'purchase', properties: { plan: 'team' } }),
    })
    expect(r.status, 'create').toBe(201)
    await waitStored(17)
    await expect(rows.nth(3)).toContainText('team1', { timeout: STEP_TIMEOUT })
    await page.getByRole('button', { name: 'Stop keeping plan' }).click()
    await expect(kept).toContainText('counted from the events of the range')
    await expect(rows.nth(3)).toContainText('team1')
  })

  await test.step('the live panel counts the last minutes', async () => {
    await page.goto(`${server.base}/#/insights/live`)
    // The purchases and the page views sent just now: ann, bob, cy, dee and user_ins.
    await expect(page.getByText('Users, last 5 min').locator('xpath=following-sibling::dd')).toHaveText('5')
    const pages = page.getByRole('table', { name: 'Top pages, last 5 minutes' })
    await expect(pages.getByRole('row').nth(1)).toContainText('/home')
    const events = page.getByText('Events, last 5 min').locator('xpath=following-sibling::dd')
    await expect(events).toHaveText('14')
    // One more, stored while the page is open, shows without a reload.
    await create('page_view', '/cart', Date.now())
    await waitStored(18)
    await expect(events).toHaveText('15', { timeout: STEP_TIMEOUT })
  })
})
