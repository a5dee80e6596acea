// Saved insights against a real server: a trend saved from its page with a
// pin shows live on the dashboard, the Saved page opens it as it was saved,
// renames it and deletes it, and the dashboard card goes with it.

import { expect, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'

const pulse = usePulse()

test('a saved, pinned trend is on the dashboard and opens as it was saved', async ({ page }) => {
  const server = pulse.server()
  for (const page_ of ['/pricing', '/pricing', '/home']) {
    const r = await fetch(`${server.base}/api/events/create/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'saver', event_type: 'signup', page: page_ }),
    })
    expect(r.status, 'create').toBe(201)
  }
  await expect
    .poll(
      async () => ((await (await fetch(`${server.base}/api/queue/stats/`)).json()) as { completed: number }).completed,
      { message: '3 events stored', timeout: STEP_TIMEOUT },
    )
    .toBe(3)

  await test.step('save signups by page from the trends page, pinned', async () => {
    await page.goto(`${server.base}/#/insights?type=signup&breakdown=page`)
    await expect(page.getByRole('status').filter({ hasText: 'events since' })).toContainText('3 events since')
    await page.getByRole('button', { name: 'Save…' }).click()
    await expect(page.getByLabel('Name')).toHaveValue('Events of signup by page')
    await page.getByLabel('Name').fill('Signups by page')
    await page.getByLabel('Pin to the dashboard').check()
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Saved as' })).toContainText(
      'Saved as “Signups by page”, pinned to the dashboard.',
    )
  })

  await test.step('the dashboard shows it, live', async () => {
    await page.goto(`${server.base}/#/`)
    const card = page.getByRole('region', { name: 'Pinned insights' })
    await expect(card.getByRole('link', { name: 'Signups by page' })).toBeVisible()
    await expect(card).toContainText('3 events since')
    await expect(card.getByRole('img', { name: /Events per hour/ })).toBeVisible()
  })

  await test.step('the Saved page opens it as saved, renames it and deletes it', async () => {
    await page.goto(`${server.base}/#/insights/saved`)
    const table = page.getByRole('table', { name: 'Saved insights' })
    await table.getByRole('link', { name: 'Signups by page' }).click()
    await expect(page).toHaveURL(/#\/insights\?breakdown=page&type=signup$/)
    await expect(page.getByLabel('Breakdown', { exact: true })).toHaveValue('page')
    await expect(page.getByLabel('signup')).toBeChecked()
    await page.goBack()
    await page.getByRole('button', { name: 'Rename Signups by page' }).click()
    await page.getByLabel('New name').fill('Signups per page')
    await page.getByLabel('New name').press('Enter')
    await expect(table.getByRole('link', { name: 'Signups per page' })).toBeVisible()
    await page.getByRole('button', { name: 'Delete Signups per page' }).click()
    await page.getByRole('button', { name: 'Confirm deleting Signups per page' }).click()
    await expect(page.getByText(/Nothing saved yet/)).toBeVisible()
    await page.goto(`${server.base}/#/`)
    await expect(page.getByRole('region', { name: 'Live Event Feed' })).toBeVisible()
    await expect(page.getByRole('region', { name: 'Pinned insights' })).toHaveCount(0)
  })
})
