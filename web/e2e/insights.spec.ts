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
})
