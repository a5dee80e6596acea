// The operator console against the real pulse binary: a feed item's
// timeline; Button 5's record in the dead-letter view under "simulated
// failure", dry-run and replayed, then completed on the dashboard; Button
// 5's timeline with its attempts; the explorer finding Button 1 by element
// and exporting it; the consumers and ordering views answering; a short load
// run reaching 100% and raising the dashboard's total; a burst of failures
// marked on the live chart and the lag history; a long run stopped by the
// operator reading "Stopped" with no error and listed among the past runs.

import { expect, RETRY_TIMEOUT, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { DashboardPage, digits, DLQView, ExplorerView, LoadView, Nav, TimelineDialog } from './pages.ts'

const LOAD_RATE = 200
const LOAD_SECONDS = 3

const pulse = usePulse()

test('the operator console: timelines, explorer, consumers, ordering, dead letters, load runs', async ({ page }) => {
  const base = pulse.server().base
  const ui = new DashboardPage(page, base)
  const nav = new Nav(page)
  const timeline = new TimelineDialog(page)
  const load = new LoadView(page)
  const shot = (name: string) => screenshot(page, `console-${name}`)
  let user = ''

  await test.step('connect', async () => {
    await ui.open()
    await ui.expectConnected()
    user = (await ui.userId()) ?? ''
  })

  await test.step("a feed item's timeline; Esc closes it and gives the focus back", async () => {
    await ui.actions.click('Button 1')
    await ui.feed.expectRow('BUTTON CLICK', user, 'Element: button_1')
    await ui.feed.openTimeline('BUTTON CLICK', user, 'Element: button_1')
    await timeline.expectStages('produced and stored', ['Produced', 'Stored'])
    expect(await timeline.fact('Element').textContent(), 'the element in the timeline').toBe('button_1')
    await shot('timeline')
    await timeline.closeWithEscape()
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '')
    expect(focused, 'the focus restored to the button that opened the timeline').toMatch(/^Timeline of button_click/)
  })

  await test.step('Button 5 ends in the DLQ', async () => {
    await ui.actions.click('Button 5 (Failed)')
    await ui.queue.expectStatus('button_5', 'dead_lettered', RETRY_TIMEOUT)
  })

  await test.step('its timeline, from the queue row, shows the failed attempts and retries', async () => {
    await ui.queue
      .row('button_5')
      .first()
      .getByRole('button', { name: /^Timeline/ })
      .click()
    await timeline.expectStages('the attempts and the dead letter', [
      'Attempt failed',
      'Next attempt due',
      'Dead-lettered',
    ])
    // Each attempt names the consumer that made it: after a crash or a
    // rebalance, the attempts before the hand-over keep theirs.
    await expect(timeline.dialog.getByRole('list', { name: 'Stages' })).toContainText(
      /attempt 1 by \S+: simulated failure/,
      { timeout: STEP_TIMEOUT },
    )
    await timeline.closeWithEscape()
  })

  await test.step('the explorer finds Button 1 by element, and exports what it finds', async () => {
    await nav.go('Explorer')
    const explorer = new ExplorerView(page)
    await explorer.search({ Element: 'button_1' })
    await expect(explorer.rows('button_1', user).first()).toBeVisible({ timeout: STEP_TIMEOUT })
    expect(
      await explorer.rows().filter({ hasNotText: 'button_1' }).count(),
      'rows the element filter let through',
    ).toBe(0)
    const csvHref = (await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')) ?? ''
    expect(csvHref, 'the export link carries the filter').toContain('element_id=button_1')
    const csv = await page.request.get(base + csvHref)
    const csvText = await csv.text()
    expect(csv.ok(), `CSV export ${csv.status()}: ${csvText.slice(0, 300)}`).toBe(true)
    expect(csvText).toContain('button_1')
    expect(csvText).not.toContain('button_5')
    await shot('explorer')
  })

  await test.step('the consumers and ordering views answer in the shapes the UI expects', async () => {
    await nav.go('Consumers')
    await expect(page.getByRole('table', { name: 'Partitions' })).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(page.getByRole('img', { name: 'Consumer lag history, last 1 h' })).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
    await shot('consumers')
    await nav.go('Ordering')
    await expect(page.getByRole('table', { name: 'Held keys' })).toBeVisible({ timeout: STEP_TIMEOUT })
    expect(await page.getByRole('alert').allTextContents(), 'alerts on the ordering view').toEqual([])
    await shot('ordering')
  })

  await test.step('dead letters: Button 5 grouped as "simulated failure"; dry run, then replay', async () => {
    await nav.go('Dead letters')
    const dlq = new DLQView(page)
    expect(await dlq.expectGroup('simulated failure'), 'records in "simulated failure"').toBe(1)
    await dlq.group('simulated failure').click()
    await page
      .getByRole('button', { name: /^Inspect record/ })
      .first()
      .click()
    await expect(page.getByLabel('Payload').filter({ hasText: '"element_id": "button_5"' })).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
    await dlq.selectGroup('simulated failure')
    expect(await dlq.dryRun(), 'records the dry run would replay').toBe(1)
    await shot('dlq')
    expect(await dlq.confirm(), 'records replayed').toBe(1)
  })

  await test.step('the replayed Button 5 completes', async () => {
    await nav.go('Dashboard')
    await ui.queue.expectStatus('button_5', 'completed', RETRY_TIMEOUT)
  })

  await test.step("a short load run reaches 100% and raises the dashboard's total", async () => {
    await expect
      .poll(() => ui.stats.total(), {
        message: 'the dashboard totals to settle',
        timeout: STEP_TIMEOUT,
        intervals: [100],
      })
      .toBeGreaterThanOrEqual(2)
    const before = await ui.stats.total()
    await nav.go('Load runs')
    await load.start({ rate: LOAD_RATE, duration: LOAD_SECONDS })
    await load.expectDone(STEP_TIMEOUT)
    const acked = digits(await load.fact('Acked').textContent())
    expect(await load.fact('Status').textContent(), 'the status of the finished run').toBe('Completed')
    expect(acked, 'events acked by the run').toBe(LOAD_RATE * LOAD_SECONDS)
    await shot('load')
    await nav.go('Dashboard')
    await expect
      .poll(() => ui.stats.total(), {
        message: `the dashboard total to reach ${before + acked}`,
        timeout: 60_000,
        intervals: [100],
      })
      .toBeGreaterThanOrEqual(before + acked)
  })

  await test.step('a burst of dead letters is marked on the live chart and the lag history', async () => {
    await nav.go('Load runs')
    await load.start({ rate: 20, duration: 1, failurePercent: 100 })
    await load.expectDone(STEP_TIMEOUT)
    await nav.go('Dashboard')
    await expect(page.getByRole('list', { name: 'Chart markers' }).getByText(/^DLQ burst: [1-9]/)).toBeVisible({
      timeout: RETRY_TIMEOUT,
    })
    await nav.go('Consumers')
    await expect(page.getByRole('list', { name: 'Chart markers' }).getByText(/^DLQ burst: [1-9]/)).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
    await shot('consumers-markers')
  })

  await test.step('a run the operator stops reads Stopped, with no error, among the past runs', async () => {
    await nav.go('Load runs')
    await load.start({ rate: 50, duration: 60 })
    await expect
      .poll(async () => digits(await load.fact('Acked').textContent()), {
        message: 'the long run to send',
        timeout: STEP_TIMEOUT,
        intervals: [100],
      })
      .toBeGreaterThan(0)
    await load.stop()
    await load.expectStatus('Stopped', STEP_TIMEOUT)
    expect(await load.fact('Failed').textContent(), 'failed records of the stopped run').toBe('0')
    expect(await page.getByRole('alert').allTextContents(), 'alerts after the stop').toEqual([])
    let past: string[][] = []
    await expect
      .poll(
        async () => {
          past = await load.pastRuns()
          return [past[0]?.[0], past[0]?.[5]]
        },
        { message: 'the stopped run in the past runs', timeout: STEP_TIMEOUT, intervals: [100] },
      )
      .toEqual(['Stopped', '0'])
    await shot('load-stopped')
  })

  await screenshot(page, 'console')
})
