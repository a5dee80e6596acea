// Rewinding the consumer group from the console against the real pulse
// binary: events stored, a dry run showing per partition what would be
// processed again, the rewind itself applied by the running members, its
// marker on the lag history, and the timeline of a stored event saying it
// was processed again, with still one row per event.

import { expect, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { DashboardPage, Nav, RewindPanel, TimelineDialog } from './pages.ts'

const pulse = usePulse()

test('rewind the running group: dry run, then the real run, its marker and the timeline', async ({ page }) => {
  const base = pulse.server().base
  const ui = new DashboardPage(page, base)
  const nav = new Nav(page)
  const rewind = new RewindPanel(page)
  const shot = (name: string) => screenshot(page, `rewind-${name}`)
  let user = ''
  let stored = 0
  // The processing log's completed count, and the latest events' ids.
  const completed = async () =>
    ((await (await page.request.get(base + '/api/queue/stats/')).json()) as { completed: number }).completed
  const latestIds = async () =>
    (
      (await (await page.request.get(base + '/api/events/latest/?limit=50')).json()) as {
        events: { event_id: string }[]
      }
    ).events.map((e) => e.event_id)

  await test.step('events are stored', async () => {
    await ui.open()
    await ui.expectConnected()
    user = (await ui.userId()) ?? ''
    await ui.actions.click('Button 1')
    await ui.actions.click('Button 2')
    await ui.feed.expectRow('BUTTON CLICK', user, 'Element: button_2')
    stored = await completed()
    expect(stored, 'completed messages before the rewind').toBeGreaterThanOrEqual(2)
  })

  await test.step('the dry run shows what would be processed again and moves nothing', async () => {
    await nav.go('Consumers')
    await rewind.choose('Earliest retained')
    const table = await rewind.dryRun()
    await expect(rewind.summary()).toHaveText(
      /^Dry run: rewinding \S+ to earliest gives [1-9][\d,]* records? \(\d+ keys?\)/,
    )
    expect(await table.getByRole('row').count(), 'a header and one row per partition').toBeGreaterThan(1)
    await shot('dry-run')
  })

  await test.step('the rewind is applied by the running members and marked on the lag history', async () => {
    await rewind.rewind()
    await expect(rewind.summary()).toHaveText(/^Rewound \S+ to earliest at .*offsets moved by the group’s members\.$/)
    await expect(page.getByRole('list', { name: 'Chart markers' }).getByText('Rewind: 1')).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
    await shot('applied')
  })

  await test.step('a reprocessed event keeps one row, and its timeline says it was processed again', async () => {
    await ui.open()
    await ui.feed.openTimeline('BUTTON CLICK', user, 'Element: button_1')
    await new TimelineDialog(page).expectStages('the rewind', ['Produced', 'Stored', 'Processed again'])
    await expect(page.getByText(/processed again after a rewind at/)).toBeVisible()
    await shot('timeline')
    const ids = await latestIds()
    expect(new Set(ids).size, 'distinct events among the latest').toBe(ids.length)
    expect(await completed(), 'completed messages after the rewind').toBe(stored)
  })
})
