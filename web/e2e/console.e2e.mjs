// End-to-end test of the operator console against the real pulse binary
// (see harness.mjs for the set-up): a feed item's timeline; Button 5's record
// in the dead-letter view under "simulated failure", dry-run and replayed,
// then completed on the dashboard; Button 5's timeline with its attempts;
// the explorer finding Button 1 by element and exporting it; the consumers
// and ordering views answering; a short load run reaching 100% and raising
// the dashboard's total; a burst of failures marked on the live chart and
// the lag history; a long run stopped by the operator reading "Stopped" with
// no error and listed among the past runs.
//
//   npm run e2e:console    (builds the UI and the binary first)

import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { Failure, RETRY_TIMEOUT, STEP_TIMEOUT, log, resultsDir, runE2E, until } from './harness.mjs'
import { DashboardPage, DLQView, ExplorerView, LoadView, Nav, TimelineDialog } from './pages.mjs'

const LOAD_RATE = 200
const LOAD_SECONDS = 3

await runE2E('console', async ({ page, server }) => {
  // One screenshot per view, for a human to look at after a run.
  const shot = async (name) => {
    mkdirSync(resultsDir, { recursive: true })
    await page.screenshot({ path: path.join(resultsDir, `console-${name}.png`), fullPage: true })
  }
  const ui = new DashboardPage(page, server.base)
  const nav = new Nav(page)
  await ui.open()
  await ui.expectConnected()
  const user = await ui.userId()
  log('connected')

  // A feed item's timeline, one click away; Esc closes it and gives the
  // focus back to the button that opened it.
  await ui.actions.click('Button 1')
  await ui.feed.expectRow('BUTTON CLICK', user, 'Element: button_1')
  await ui.feed.openTimeline('BUTTON CLICK', user, 'Element: button_1')
  const timeline = new TimelineDialog(page)
  let stages = []
  await until('the timeline to show produced and stored', STEP_TIMEOUT, async () => {
    stages = await timeline.stages()
    return stages.includes('Produced') && stages.includes('Stored')
  }).catch((err) => {
    throw new Failure(`${err.message} (stages: ${stages.join(', ')})`)
  })
  const element = await timeline.fact('Element')
  if (element !== 'button_1') throw new Failure(`timeline shows element ${element}, want button_1`)
  log(`timeline: ${stages.join(' → ')}`)
  await shot('timeline')
  await timeline.closeWithEscape()
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '')
  if (!focused.startsWith('Timeline of button_click')) throw new Failure(`focus not restored, on "${focused}"`)

  // Button 5 ends in the DLQ.
  await ui.actions.click('Button 5 (Failed)')
  await ui.queue.expectStatus('button_5', 'dead_lettered', RETRY_TIMEOUT)
  log('Button 5 dead_lettered')

  // Its timeline, from the queue row, shows the failed attempts and retries.
  await ui.queue
    .row('button_5')
    .first()
    .getByRole('button', { name: /^Timeline/ })
    .click()
  await until('the timeline to show the attempts and the dead letter', STEP_TIMEOUT, async () => {
    stages = await timeline.stages()
    return stages.includes('Attempt failed') && stages.includes('Next attempt due') && stages.includes('Dead-lettered')
  }).catch((err) => {
    throw new Failure(`${err.message} (stages: ${stages.join(', ')})`)
  })
  log(`Button 5 timeline: ${stages.join(' → ')}`)
  await timeline.closeWithEscape()

  // The explorer finds Button 1 by element, and exports what it finds.
  await nav.go('Explorer')
  const explorer = new ExplorerView(page)
  await explorer.search({ Element: 'button_1' })
  await explorer.rows('button_1', user).first().waitFor({ timeout: STEP_TIMEOUT })
  const others = await explorer.rows().filter({ hasNotText: 'button_1' }).count()
  if (others > 0) throw new Failure(`the element filter let ${others} other rows through`)
  const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')
  if (!csvHref.includes('element_id=button_1')) throw new Failure(`export link without the filter: ${csvHref}`)
  const csv = await page.request.get(server.base + csvHref)
  const csvText = await csv.text()
  if (!csv.ok() || !csvText.includes('button_1') || csvText.includes('button_5')) {
    throw new Failure(`CSV export ${csv.status()}: ${csvText.slice(0, 300)}`)
  }
  await shot('explorer')
  log('explorer found Button 1 and exported it')

  // The consumers and ordering views answer in the shapes the UI expects.
  await nav.go('Consumers')
  await page.getByRole('table', { name: 'Partitions' }).waitFor({ timeout: STEP_TIMEOUT })
  await page.getByRole('img', { name: 'Consumer lag history, last hour' }).waitFor({ timeout: STEP_TIMEOUT })
  await shot('consumers')
  await nav.go('Ordering')
  await page.getByRole('table', { name: 'Held keys' }).waitFor({ timeout: STEP_TIMEOUT })
  if ((await page.getByRole('alert').count()) > 0) {
    throw new Failure(`ordering view: ${await page.getByRole('alert').first().textContent()}`)
  }
  await shot('ordering')
  log('consumers and ordering views loaded')

  // Dead letters: Button 5 grouped as "simulated failure"; dry run, then replay.
  await nav.go('Dead letters')
  const dlq = new DLQView(page)
  const inGroup = await dlq.expectGroup('simulated failure')
  if (inGroup !== 1) throw new Failure(`"simulated failure" holds ${inGroup} records, want 1`)
  await dlq.group('simulated failure').click()
  await page
    .getByRole('button', { name: /^Inspect record/ })
    .first()
    .click()
  await page.getByLabel('Payload').filter({ hasText: '"element_id": "button_5"' }).waitFor({ timeout: STEP_TIMEOUT })
  await dlq.selectGroup('simulated failure')
  const would = await dlq.dryRun()
  if (would !== 1) throw new Failure(`dry run would replay ${would}, want 1`)
  await shot('dlq')
  const replayed = await dlq.confirm()
  if (replayed !== 1) throw new Failure(`replayed ${replayed}, want 1`)
  log('Button 5 replayed from the DLQ')

  await nav.go('Dashboard')
  await ui.queue.expectStatus('button_5', 'completed', RETRY_TIMEOUT)
  log('the replayed Button 5 completed')

  // A short load run: progress to 100%, and the dashboard's total rises.
  await until('the dashboard totals to settle', STEP_TIMEOUT, async () => (await ui.stats.total()) >= 2)
  const before = await ui.stats.total()
  await nav.go('Load runs')
  const load = new LoadView(page)
  await load.start({ rate: LOAD_RATE, duration: LOAD_SECONDS })
  await load.expectDone(STEP_TIMEOUT)
  const acked = Number((await load.fact('Acked')).replace(/\D/g, ''))
  const status = await load.fact('Status')
  if (status !== 'Completed' || acked !== LOAD_RATE * LOAD_SECONDS) {
    throw new Failure(`load run ${status} with ${acked} acked, want completed with ${LOAD_RATE * LOAD_SECONDS}`)
  }
  await shot('load')
  log(`load run completed: ${acked} acked`)
  await nav.go('Dashboard')
  let total = before
  await until(`the dashboard total to reach ${before + acked}`, 60_000, async () => {
    total = await ui.stats.total()
    return total >= before + acked
  }).catch((err) => {
    throw new Failure(`${err.message} (last seen ${total})`)
  })
  log(`dashboard total ${before} -> ${total}`)

  // A burst of dead letters is marked on the live chart as it happens.
  await nav.go('Load runs')
  await load.start({ rate: 20, duration: 1, failurePercent: 100 })
  await load.expectDone(STEP_TIMEOUT)
  await nav.go('Dashboard')
  await page
    .getByRole('list', { name: 'Chart markers' })
    .getByText(/^DLQ burst: [1-9]/)
    .waitFor({ timeout: RETRY_TIMEOUT })
  log('DLQ burst marked on the live chart')
  await nav.go('Consumers')
  await page
    .getByRole('list', { name: 'Chart markers' })
    .getByText(/^DLQ burst: [1-9]/)
    .waitFor({ timeout: STEP_TIMEOUT })
  await shot('consumers-markers')
  log('and on the lag history')

  // A run the operator stops reads stopped: no error, nothing failed, and listed among the past runs.
  await nav.go('Load runs')
  await load.start({ rate: 50, duration: 60 })
  await until(
    'the long run to send',
    STEP_TIMEOUT,
    async () => Number((await load.fact('Acked')).replace(/\D/g, '')) > 0,
  )
  await load.stop()
  await load.expectStatus('Stopped', STEP_TIMEOUT)
  const failed = await load.fact('Failed')
  const alerts = await page.getByRole('alert').count()
  if (failed !== '0' || alerts !== 0) throw new Failure(`stopped run: failed ${failed}, ${alerts} alerts`)
  let past = []
  await until('the stopped run in the past runs', STEP_TIMEOUT, async () => {
    past = await load.pastRuns()
    return past[0]?.[0] === 'Stopped' && past[0]?.[5] === '0'
  }).catch((err) => {
    throw new Failure(`${err.message} (rows ${JSON.stringify(past)})`)
  })
  await shot('load-stopped')
  log(`stopped run reads Stopped; ${past.length} past runs listed`)
})
