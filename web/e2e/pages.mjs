// Page objects of the UI for the browser tests: one per view or panel,
// found by role and accessible name as a user (or a screen reader) would.

import { Failure, STEP_TIMEOUT, until } from './harness.mjs'

/** Page object of the whole dashboard, one getter per panel. */
export class DashboardPage {
  constructor(page, base) {
    this.page = page
    this.base = base
    this.actions = new ActionsPanel(page)
    this.feed = new FeedPanel(page)
    this.stats = new StatsPanel(page)
    this.queue = new QueuePanel(page)
  }

  async open() {
    await this.page.goto(this.base + '/')
    await this.page.getByRole('heading', { name: 'Kafka Real-time Dashboard' }).waitFor()
  }

  connection() {
    return this.page.locator('header').getByRole('status')
  }

  async expectConnected() {
    await this.connection().filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_TIMEOUT })
  }

  /** The line over the live panels while their data is stale. */
  staleNotice() {
    return this.page.getByRole('status').filter({ hasText: /^Stale since / })
  }

  /** Waits for the stale line and then for its "disconnected N s ago" to count up; returns the first N. */
  async expectStale() {
    await this.staleNotice().waitFor({ timeout: STEP_TIMEOUT })
    const ago = async () => Number((await this.page.getByText(/^disconnected \d+ s ago/).textContent()).match(/\d+/)[0])
    const first = await ago()
    await until('the stale time to count up', STEP_TIMEOUT, async () => (await ago()) > first)
    return first
  }

  async expectFresh() {
    await this.staleNotice().waitFor({ state: 'detached', timeout: STEP_TIMEOUT })
  }

  userId() {
    return this.page.evaluate(() => window.localStorage.getItem('pulse.user_id'))
  }
}

export class ActionsPanel {
  constructor(page) {
    this.page = page
    this.region = page.getByRole('region', { name: 'Interactive Actions' })
  }

  async click(name) {
    await this.region.getByRole('button', { name, exact: true }).click()
    // Each click confirms itself before the test moves on.
    await this.region
      .getByRole('status')
      .filter({ hasText: new RegExp(`^${name.replace(/[()]/g, '\\$&')}: sent`) })
      .first()
      .waitFor({ timeout: STEP_TIMEOUT })
  }

  async sendMessageWithEnter(text) {
    const input = this.region.getByLabel('Send a Message')
    await input.fill(text)
    await input.press('Enter')
    await this.region
      .getByRole('status')
      .filter({ hasText: 'Message: sent form_submit' })
      .first()
      .waitFor({ timeout: STEP_TIMEOUT })
  }
}

export class FeedPanel {
  constructor(page) {
    this.page = page
    this.region = page.getByRole('region', { name: 'Live Event Feed' })
  }

  rows(...texts) {
    let rows = this.region.getByRole('listitem')
    for (const t of texts) rows = rows.filter({ hasText: t })
    return rows
  }

  async expectRow(...texts) {
    await this.rows(...texts)
      .first()
      .waitFor({ timeout: STEP_TIMEOUT })
  }

  async openTimeline(...texts) {
    await this.rows(...texts)
      .first()
      .getByRole('button', { name: /^Timeline/ })
      .click()
  }
}

export class StatsPanel {
  constructor(page) {
    this.page = page
    this.region = page.getByRole('region', { name: 'Statistics' })
  }

  async total() {
    const dd = this.region.getByRole('definition').first()
    await dd.waitFor({ timeout: STEP_TIMEOUT })
    return Number((await dd.textContent()).replace(/\D/g, ''))
  }

  /** The value of one of the panel's figures, by its label ('Events/s', 'Last 5 min'). */
  async figure(label) {
    return this.region
      .locator('div', { has: this.page.getByText(label, { exact: true }) })
      .locator('dd')
      .first()
      .textContent()
  }

  async eventsPerSecond() {
    return Number((await this.figure('Events/s')).replace(/,/g, ''))
  }

  /** Waits until Events/s satisfies ok(value). */
  async expectEventsPerSecond(what, ok, timeout = STEP_TIMEOUT) {
    let got
    await until(`events/s ${what}`, timeout, async () => {
      got = await this.eventsPerSecond()
      return ok(got)
    }).catch((err) => {
      throw new Failure(`${err.message} (last seen ${got})`)
    })
  }

  async expectTotal(want, timeout = STEP_TIMEOUT) {
    let got
    await until(`total events to be ${want}`, timeout, async () => {
      got = await this.total()
      return got === want
    }).catch((err) => {
      throw new Failure(`${err.message} (last seen ${got})`)
    })
  }
}

export class QueuePanel {
  constructor(page) {
    this.page = page
    this.region = page.getByRole('region', { name: 'Message Queue Monitor' })
  }

  row(elementId) {
    return this.region.getByRole('listitem').filter({ hasText: `Element: ${elementId} ` })
  }

  /**
   * Waits until the message was in status: shown now, or listed in the
   * statuses seen live (a short state can be replaced within one 250 ms
   * render batch). Returns 'shown' or 'seen'.
   */
  async expectWent(elementId, status, timeout = STEP_TIMEOUT) {
    const shown = this.row(elementId).filter({ has: this.page.getByText(status, { exact: true }) })
    const seen = this.row(elementId).filter({ hasText: new RegExp(`Seen live: .*\\b${status}\\b`) })
    await shown.or(seen).first().waitFor({ timeout })
    return (await shown.count()) > 0 ? 'shown' : 'seen'
  }

  async expectStatus(elementId, status, timeout = STEP_TIMEOUT) {
    await this.row(elementId)
      .filter({ has: this.page.getByText(status, { exact: true }) })
      .first()
      .waitFor({ timeout })
  }
}

/** The navigation between views. */
export class Nav {
  constructor(page) {
    this.page = page
    this.nav = page.getByRole('navigation', { name: 'Views' })
  }

  async go(label) {
    await this.nav.getByRole('link', { name: label, exact: true }).click()
    await this.nav.locator('[aria-current="page"]').filter({ hasText: label }).waitFor({ timeout: STEP_TIMEOUT })
  }
}

/** The message timeline dialog. */
export class TimelineDialog {
  constructor(page) {
    this.page = page
    this.dialog = page.getByRole('dialog', { name: 'Message timeline' })
  }

  /** Waits for the stages and returns their labels in order. */
  async stages() {
    const list = this.dialog.getByRole('list', { name: 'Stages' })
    await list.waitFor({ timeout: STEP_TIMEOUT })
    return list
      .getByRole('listitem')
      .evaluateAll((items) => items.map((li) => li.querySelector('span:not([aria-hidden])')?.textContent ?? ''))
  }

  async fact(name) {
    const facts = this.dialog.getByLabel('Message')
    return facts
      .locator('div', { has: this.page.getByText(name, { exact: true }) })
      .locator('dd')
      .textContent()
  }

  async closeWithEscape() {
    await this.page.keyboard.press('Escape')
    await this.dialog.waitFor({ state: 'detached', timeout: STEP_TIMEOUT })
  }
}

/** The dead-letter view. */
export class DLQView {
  constructor(page) {
    this.page = page
    this.kinds = page.getByRole('list', { name: 'Error kinds' })
    this.replay = page.getByRole('region', { name: 'Replay' })
  }

  group(kind) {
    return this.kinds.getByRole('button', { name: new RegExp(`^${kind}`) })
  }

  async expectGroup(kind) {
    await this.group(kind).waitFor({ timeout: STEP_TIMEOUT })
    return Number((await this.group(kind).textContent()).replace(/\D/g, ''))
  }

  async selectGroup(kind) {
    await this.kinds.getByRole('checkbox', { name: `Select group ${kind}` }).check()
  }

  /** Runs the dry run and returns the number it says would be replayed. */
  async dryRun() {
    await this.replay.getByRole('button', { name: 'Dry run' }).click()
    const said = this.replay.getByText(/^Dry run: \d+ records? would be replayed/)
    await said.waitFor({ timeout: STEP_TIMEOUT })
    return Number((await said.textContent()).match(/Dry run: (\d+)/)[1])
  }

  async confirm() {
    await this.replay.getByRole('button', { name: /^Confirm replay of/ }).click()
    const said = this.replay.getByText(/^Replayed \d+ records?/)
    await said.waitFor({ timeout: STEP_TIMEOUT })
    return Number((await said.textContent()).match(/Replayed (\d+)/)[1])
  }
}

/** The event explorer. */
export class ExplorerView {
  constructor(page) {
    this.page = page
    this.form = page.getByRole('search', { name: 'Filter events' })
    this.table = page.getByRole('table', { name: 'Events, newest first' })
  }

  async search(filters) {
    for (const [label, value] of Object.entries(filters)) await this.form.getByLabel(label, { exact: true }).fill(value)
    const done = this.page.waitForResponse((r) => r.url().includes('/api/events/?'), { timeout: STEP_TIMEOUT })
    await this.form.getByRole('button', { name: 'Search' }).click()
    await done
  }

  rows(...texts) {
    let rows = this.table.getByRole('row').filter({ has: this.page.getByRole('cell') })
    for (const t of texts) rows = rows.filter({ hasText: t })
    return rows
  }
}

/** The load-run view. */
export class LoadView {
  constructor(page) {
    this.page = page
    this.form = page.getByRole('form', { name: 'Start a load run' })
    this.bar = page.getByRole('progressbar')
  }

  async start({ rate, duration, failurePercent = 0 }) {
    await this.form.getByLabel('Events per second').fill(String(rate))
    await this.form.getByLabel('Duration (s)').fill(String(duration))
    await this.form.getByLabel('Failure share (%)').fill(String(failurePercent))
    await this.form.getByRole('button', { name: 'Start' }).click()
    await this.bar.waitFor({ timeout: STEP_TIMEOUT })
  }

  async progress() {
    return Number(await this.bar.getAttribute('aria-valuenow'))
  }

  async fact(name) {
    return this.page
      .getByLabel('Load run')
      .locator('div', { has: this.page.getByText(name, { exact: true }) })
      .locator('dd')
      .textContent()
  }

  async stop() {
    await this.form.getByRole('button', { name: 'Stop' }).click()
  }

  async expectStatus(status, timeout) {
    let last
    await until(`the load run to read ${status}`, timeout, async () => {
      last = await this.fact('Status')
      return last === status
    }).catch((err) => {
      throw new Failure(`${err.message} (last seen ${last})`)
    })
  }

  /** The cells of the past-runs table, newest run first. */
  async pastRuns() {
    const rows = this.page.getByRole('table', { name: 'Past load runs' }).getByRole('row')
    const out = []
    for (const row of (await rows.all()).slice(1)) out.push(await row.getByRole('cell').allTextContents())
    return out
  }

  async expectDone(timeout) {
    let last
    await until('the load run to reach 100%', timeout, async () => {
      last = await this.progress()
      return last === 100
    }).catch((err) => {
      throw new Failure(`${err.message} (last seen ${last}%)`)
    })
  }
}
