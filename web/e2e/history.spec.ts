// The charts' history is the server's, not the tab's: events stored before
// a restart are drawn by a page opened after it, and the lag history keeps
// its samples from before the restart.

import { expect, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { DashboardPage, Nav } from './pages.ts'

const pulse = usePulse()

interface Series {
  to: string
  events: Record<string, number[]>
  latency_ms: { samples: number[] }
}
interface History {
  points: { t: string }[]
}

test('a restart keeps the chart and lag history', async ({ page }) => {
  const server = pulse.server()
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(server.base + path)
    expect(r.ok, `GET ${path}: ${r.status}`).toBe(true)
    return (await r.json()) as T
  }

  await test.step('events are stored and their 10 s step completes', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${server.base}/api/events/create/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: 'user_hist', event_type: 'page_view', page: `/p${i}` }),
      })
      expect(r.status, 'create').toBe(201)
    }
    await expect
      .poll(
        async () => (await get<Series>('/api/series/?range=15m')).events.page_view?.reduce((a, b) => a + b, 0) ?? 0,
        {
          message: 'the stored series to hold the 12 events',
          timeout: STEP_TIMEOUT,
        },
      )
      .toBe(12)
    await expect
      .poll(async () => (await get<History>('/api/consumers/history/?range=15m')).points.length, {
        message: 'lag samples before the restart',
        timeout: STEP_TIMEOUT,
      })
      .toBeGreaterThanOrEqual(2)
  })

  const restartedAt = Date.now()
  await test.step('the server restarts', async () => {
    await server.restart()
  })

  await test.step('the lag history keeps the samples from before the restart', async () => {
    const h = await get<History>('/api/consumers/history/?range=15m')
    const before = h.points.filter((p) => Date.parse(p.t) < restartedAt - 1000)
    expect(before.length, `points before the restart: ${JSON.stringify(h.points)}`).toBeGreaterThanOrEqual(1)
    await page.goto(server.base + '/')
    await new Nav(page).go('Consumers')
    await page.getByRole('group', { name: 'Lag history range' }).getByText('15 min', { exact: true }).click()
    await expect(page.getByRole('img', { name: 'Consumer lag history, last 15 min' })).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
    await expect(page.getByText(/Lag over the last 15 min: \d+ points?/)).toBeVisible()
  })

  await test.step('a page opened after the restart draws the stored events and their latency', async () => {
    const ui = new DashboardPage(page, server.base)
    await ui.open()
    await ui.expectConnected()
    // Over 24 h the chart draws the stored steps only: nothing this page received is in it.
    await page.getByRole('group', { name: 'Chart range' }).getByText('24 h', { exact: true }).click()
    await expect(page.getByRole('img', { name: 'Events per second by type, last 24 h' })).toBeVisible()
    await expect(page.getByText(/From the stored history, in steps of 10 min/)).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(page.getByText(/latency p50 [\d.]+ (ms|s), p95/)).toBeVisible({ timeout: STEP_TIMEOUT })
  })
})
