// Funnels and retention against a real server: events sent with their own
// timestamps for a few users (four view /pricing, two of them sign up, one
// buys; a fifth views another page), a funnel built step by step in the
// page counts 4/2/1, its link reproduces it, a dropped user's link opens
// their events in the explorer; the retention table shows today's cohort.

import { expect, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { FunnelsView, Nav, RetentionView } from './pages.ts'
import type { PulseServer } from './server.ts'

async function seed(server: PulseServer): Promise<void> {
  const now = Date.now()
  const create = async (user_id: string, event_type: string, page: string, secondsAgo: number) => {
    const r = await fetch(`${server.base}/api/events/create/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id, event_type, page, timestamp: new Date(now - secondsAgo * 1000).toISOString() }),
    })
    expect(r.status, 'create').toBe(201)
  }
  for (const u of ['fun_a', 'fun_b', 'fun_c', 'fun_d']) await create(u, 'page_view', '/pricing', 60)
  await create('fun_e', 'page_view', '/home', 60)
  await create('fun_a', 'signup', '/signup', 40)
  await create('fun_b', 'signup', '/signup', 30)
  await create('fun_a', 'purchase', '/checkout', 20)
  await expect
    .poll(
      async () => ((await (await fetch(`${server.base}/api/queue/stats/`)).json()) as { completed: number }).completed,
      { message: '8 events stored', timeout: STEP_TIMEOUT },
    )
    .toBe(8)
}

const pulse = usePulse(seed)

test('a funnel built in the page counts the users through its steps', async ({ page }) => {
  const funnels = new FunnelsView(page)

  await test.step('open Funnels from the Insights nav', async () => {
    await page.goto(`${pulse.server().base}/`)
    await new Nav(page).go('Insights')
    await page.getByRole('navigation', { name: 'Insights' }).getByRole('link', { name: 'Funnels' }).click()
    await expect(page).toHaveURL(/#\/insights\/funnels$/)
    // The known types arrive with the live stats; the first step defaults to page views.
    await expect(funnels.step(1).getByLabel('Event type')).toHaveValue('page_view', { timeout: STEP_TIMEOUT })
  })

  await test.step('page_view on /pricing → signup → purchase', async () => {
    await funnels.addFilter(1, 'page', 'equals', '/pricing')
    await funnels.chooseType(2, 'signup')
    await funnels.addStep()
    await funnels.chooseType(3, 'purchase')
    await expect(funnels.bar(1)).toContainText('4 users · 100%')
    await expect(funnels.bar(2)).toContainText('2 users · 50% · 2 dropped (50%)')
    await expect(funnels.bar(3)).toContainText('1 user · 25% · 1 dropped (50%)')
    await expect(funnels.row(1)).toContainText('page = /pricing')
    await expect(funnels.row(3).getByRole('cell').nth(2)).toHaveText('25%')
    await expect(funnels.row(3).getByRole('cell').nth(3)).toHaveText('50%')
    await screenshot(page, 'funnels-built')
  })

  await test.step('the link reproduces the funnel', async () => {
    await page.reload()
    await expect(funnels.step(3).getByLabel('Event type')).toHaveValue('purchase')
    await expect(funnels.bar(1)).toContainText('4 users · 100%')
    await expect(funnels.bar(3)).toContainText('1 user · 25%')
  })

  await test.step('a dropped user opens on their page', async () => {
    const dropped = funnels.row(2)
    await dropped.getByText('2 users dropped').click()
    await dropped.getByRole('link', { name: 'fun_c', exact: true }).click()
    await expect(page).toHaveURL(/#\/users\/fun_c$/)
    const events = page.getByRole('table', { name: "The user's events, newest first" })
    await expect(events.getByRole('row').filter({ hasText: '/pricing' }).first()).toBeVisible({ timeout: STEP_TIMEOUT })
  })
})

test('the retention table shows today’s cohort with its users', async ({ page }) => {
  await page.goto(`${pulse.server().base}/#/insights/retention`)
  const retention = new RetentionView(page)
  await expect(retention.table).toBeVisible({ timeout: STEP_TIMEOUT })
  // Every user was first seen today: today's cohort, the last row, has the five of them, all active on day 0.
  const today = retention.table.getByRole('row').last()
  await expect(today.getByRole('cell').first()).toHaveText('5')
  await expect(today.getByRole('cell').nth(1)).toHaveText('100%')
  await expect(retention.row('Average').getByRole('cell').first()).toHaveText('5')
})
