// End-to-end test of the dashboard against the real pulse binary (see
// harness.mjs for the set-up): click Button 1 and see it in the feed and the
// totals; Button 4 processing then completed; Button 5 retrying then
// dead-lettered; send a message with Enter; reload and see the same totals;
// stop sending and see events/s fall to 0.
//
//   npm run e2e            (builds the UI and the binary first)

import { Failure, RETRY_TIMEOUT, STEP_TIMEOUT, log, runE2E, until } from './harness.mjs'
import { DashboardPage } from './pages.mjs'

await runE2E('dashboard', async ({ page, server, context }) => {
  const ui = new DashboardPage(page, server.base)
  await ui.open()
  await ui.expectConnected()
  log('connected')
  const user = await ui.userId()
  if (!/^user_[0-9a-f]{4}$/.test(user ?? '')) throw new Failure(`unexpected user id ${user}`)

  const total0 = await ui.stats.total()
  await ui.actions.click('Button 1')
  await ui.feed.expectRow('BUTTON CLICK', user, 'Element: button_1')
  await ui.stats.expectTotal(total0 + 1)
  log(`Button 1 in the feed, total ${total0} -> ${total0 + 1}`)

  await ui.actions.click('Button 4 (5s delay)')
  await ui.queue.expectStatus('button_4', 'processing')
  log('Button 4 processing')
  await ui.queue.expectStatus('button_4', 'completed', STEP_TIMEOUT)
  log('Button 4 completed')

  await ui.actions.click('Button 5 (Failed)')
  log(`Button 5 retrying (${await ui.queue.expectWent('button_5', 'retrying')})`)
  await ui.queue.expectStatus('button_5', 'dead_lettered', RETRY_TIMEOUT)
  await ui.queue.expectWent('button_5', 'retrying')
  log('Button 5 dead_lettered')

  const text = `hello from e2e <b>${Date.now()}</b>`
  await ui.actions.sendMessageWithEnter(text)
  await ui.feed.expectRow('FORM SUBMIT', 'Element: message_input', text)
  log('message in the feed')
  await ui.stats.expectEventsPerSecond('above 0', (v) => v > 0)
  log('events/s above 0')

  // The totals the server reports must survive a reload: same numbers from
  // initial_data as from the live updates.
  await until('the feed to settle', STEP_TIMEOUT, async () => (await ui.stats.total()) >= total0 + 3)
  const before = await ui.stats.total()
  await page.reload()
  await ui.expectConnected()
  await ui.stats.expectTotal(before)
  await ui.feed.expectRow('FORM SUBMIT', text)
  log(`after reload: total ${before}`)

  // The charts are computed in the browser from the events that arrived.
  await page.getByText(/latency p50 [\d.,]+ m?s, p95 [\d.,]+ m?s, p99 [\d.,]+ m?s/).waitFor({ timeout: STEP_TIMEOUT })
  log('charts drawn')

  // Nothing is sent any more: the rate falls to 0 within its 10 s window
  // (the server pushes no stats_update when nothing changes).
  await ui.stats.expectEventsPerSecond('to be 0', (v) => v === 0, 20_000)
  log('events/s back to 0')

  // An outage, on a second page whose socket the test can cut: the data is
  // dimmed and says since when it is stale, and is fresh again once back.
  const second = await context.newPage()
  let down = false
  const routes = []
  await second.routeWebSocket(/\/ws\/events\/$/, (ws) => {
    if (down) {
      ws.close({ code: 1011, reason: 'e2e outage' })
      return
    }
    routes.push(ws)
    ws.connectToServer()
  })
  const other = new DashboardPage(second, server.base)
  await other.open()
  await other.expectConnected()
  down = true
  for (const ws of routes) await ws.close({ code: 1011, reason: 'e2e outage' })
  log(`outage: stale, counting up from ${await other.expectStale()} s`)
  down = false
  await other.expectConnected()
  await other.expectFresh()
  log('back: fresh again')
  await second.close()
})
