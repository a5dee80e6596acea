// The dashboard against the real pulse binary: click Button 1 and see it in
// the feed and the totals; Button 4 processing then completed, with a Button
// 1 clicked meanwhile waiting behind it in the queue monitor; Button 5
// retrying then dead-lettered; send a message with Enter; reload and see the
// same totals; stop sending and see events/s fall to 0; an outage dims the
// live panels until the socket is back.

import type { WebSocketRoute } from '@playwright/test'
import { expect, RETRY_TIMEOUT, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { DashboardPage } from './pages.ts'

const pulse = usePulse()

test('the dashboard follows clicks, retries, dead letters, a reload and an outage', async ({ page, context }) => {
  const base = pulse.server().base
  const ui = new DashboardPage(page, base)
  let user = ''
  let total0 = 0

  await test.step('connect', async () => {
    await ui.open()
    await ui.expectConnected()
    user = (await ui.userId()) ?? ''
    expect(user, 'the user id kept in localStorage').toMatch(/^user_[0-9a-f]{4}$/)
  })

  await test.step('Button 1 appears in the feed and the total', async () => {
    total0 = await ui.stats.total()
    await ui.actions.click('Button 1')
    await ui.feed.expectRow('BUTTON CLICK', user, 'Element: button_1')
    await ui.stats.expectTotal(total0 + 1)
  })

  await test.step('Button 4 is processing, Button 1 after it waits behind it, then both complete', async () => {
    await ui.actions.click('Button 4 (5s delay)')
    await ui.queue.expectStatus('button_4', 'processing')
    // Same user, same type: one Kafka key, processed in order.
    await ui.actions.click('Button 1')
    await expect(
      ui.queue.row('button_1').filter({
        hasText: new RegExp(`Waiting behind button_4 \\(button click\\) on key ${user}:button_click, 1st in line`),
      }),
    ).toBeVisible({ timeout: STEP_TIMEOUT })
    await ui.queue.expectStatus('button_4', 'completed', STEP_TIMEOUT)
    await expect(ui.queue.region.getByText(/Waiting behind/)).toHaveCount(0, { timeout: STEP_TIMEOUT })
  })

  await test.step('Button 5 is retrying, then dead-lettered', async () => {
    await ui.actions.click('Button 5 (Failed)')
    await ui.queue.expectWent('button_5', 'retrying')
    await ui.queue.expectStatus('button_5', 'dead_lettered', RETRY_TIMEOUT)
    await ui.queue.expectWent('button_5', 'retrying')
  })

  const text = `hello from e2e <b>${Date.now()}</b>`
  await test.step('a message sent with Enter appears in the feed, as text', async () => {
    await ui.actions.sendMessageWithEnter(text)
    await ui.feed.expectRow('FORM SUBMIT', 'Element: message_input', text)
    await ui.stats.expectEventsPerSecondAboveZero()
  })

  await test.step('the totals survive a reload', async () => {
    // Same numbers from initial_data as from the live updates.
    await expect
      .poll(() => ui.stats.total(), { message: 'the feed to settle', timeout: STEP_TIMEOUT, intervals: [100] })
      // Button 1, Button 4, the Button 1 that waited behind it, the message (Button 5 is not stored).
      .toBeGreaterThanOrEqual(total0 + 4)
    const before = await ui.stats.total()
    await page.reload()
    await ui.expectConnected()
    await ui.stats.expectTotal(before)
    await ui.feed.expectRow('FORM SUBMIT', text)
  })

  await test.step('the charts are drawn from the events that arrived', async () => {
    await expect(page.getByText(/latency p50 [\d.,]+ m?s, p95 [\d.,]+ m?s, p99 [\d.,]+ m?s/)).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
  })

  await test.step('with nothing sent, events/s falls to 0 within its 10 s window', async () => {
    // The server pushes no stats_update when nothing changes.
    await ui.stats.expectEventsPerSecondZero(20_000)
  })

  await test.step('an outage dims the live panels until the socket is back', async () => {
    // On a second page whose socket the test can cut.
    const second = await context.newPage()
    let down = false
    const routes: WebSocketRoute[] = []
    await second.routeWebSocket(/\/ws\/events\/$/, async (ws) => {
      if (down) {
        await ws.close({ code: 1011, reason: 'e2e outage' })
        return
      }
      routes.push(ws)
      ws.connectToServer()
    })
    const other = new DashboardPage(second, base)
    await other.open()
    await other.expectConnected()
    down = true
    for (const ws of routes) await ws.close({ code: 1011, reason: 'e2e outage' })
    await other.expectStale()
    down = false
    await other.expectConnected()
    await other.expectFresh()
    await second.close()
  })

  await screenshot(page, 'dashboard')
})
