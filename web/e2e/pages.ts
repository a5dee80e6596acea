// Page objects of the UI for the browser tests: one per view or panel,
// found by role and accessible name as a user (or a screen reader) would.
// Waits are web-first assertions or polls of a condition, never sleeps.

import type { Locator, Page } from '@playwright/test'
import { expect, RETRY_TIMEOUT, STEP_TIMEOUT } from './fixtures.ts'

/** The number in a text, digits only ("1,234 acked" is 1234). */
export function digits(text: string | null): number {
  return Number((text ?? '').replace(/\D/g, ''))
}

/** Polls every 100 ms, as the scenarios were timed for. */
const every100 = { intervals: [100] }

/** Page object of the whole dashboard, one getter per panel. */
export class DashboardPage {
  readonly actions: ActionsPanel
  readonly feed: FeedPanel
  readonly stats: StatsPanel
  readonly queue: QueuePanel

  constructor(
    readonly page: Page,
    readonly base: string,
  ) {
    this.actions = new ActionsPanel(page)
    this.feed = new FeedPanel(page)
    this.stats = new StatsPanel(page)
    this.queue = new QueuePanel(page)
  }

  async open(): Promise<void> {
    await this.page.goto(this.base + '/')
    await expect(this.page.getByRole('heading', { name: 'Kafka Real-time Dashboard' })).toBeVisible()
  }

  connection(): Locator {
    return this.page.locator('header').getByRole('status')
  }

  async expectConnected(): Promise<void> {
    await expect(this.connection().filter({ hasText: 'Connected' })).toBeVisible({ timeout: STEP_TIMEOUT })
  }

  /** The line over the live panels while their data is stale. */
  staleNotice(): Locator {
    return this.page.getByRole('status').filter({ hasText: /^Stale since / })
  }

  /** Waits for the stale line and then for its "disconnected N s ago" to count up; returns the first N. */
  async expectStale(): Promise<number> {
    await expect(this.staleNotice()).toBeVisible({ timeout: STEP_TIMEOUT })
    const ago = async () => {
      const text = await this.page.getByText(/^disconnected \d+ s ago/).textContent()
      return Number(/\d+/.exec(text ?? '')?.[0])
    }
    const first = await ago()
    expect(first, 'seconds since the disconnection').not.toBeNaN()
    await expect
      .poll(ago, { message: 'the stale time to count up', timeout: STEP_TIMEOUT, ...every100 })
      .toBeGreaterThan(first)
    return first
  }

  async expectFresh(): Promise<void> {
    await expect(this.staleNotice()).toHaveCount(0, { timeout: STEP_TIMEOUT })
  }

  userId(): Promise<string | null> {
    return this.page.evaluate(() => window.localStorage.getItem('pulse.user_id'))
  }
}

export class ActionsPanel {
  readonly region: Locator

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Interactive Actions' })
  }

  async click(name: string): Promise<void> {
    await this.region.getByRole('button', { name, exact: true }).click()
    // Each click confirms itself before the test moves on.
    await expect(
      this.region
        .getByRole('status')
        .filter({ hasText: new RegExp(`^${name.replace(/[()]/g, '\\$&')}: sent`) })
        .first(),
    ).toBeVisible({ timeout: STEP_TIMEOUT })
  }

  async sendMessageWithEnter(text: string): Promise<void> {
    const input = this.region.getByLabel('Send a Message')
    await input.fill(text)
    await input.press('Enter')
    await expect(this.region.getByRole('status').filter({ hasText: 'Message: sent form_submit' }).first()).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
  }
}

export class FeedPanel {
  readonly region: Locator

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Live Event Feed' })
  }

  rows(...texts: string[]): Locator {
    let rows = this.region.getByRole('listitem')
    for (const t of texts) rows = rows.filter({ hasText: t })
    return rows
  }

  async expectRow(...texts: string[]): Promise<void> {
    await expect(this.rows(...texts).first()).toBeVisible({ timeout: STEP_TIMEOUT })
  }

  async openTimeline(...texts: string[]): Promise<void> {
    await this.rows(...texts)
      .first()
      .getByRole('button', { name: /^Timeline/ })
      .click()
  }
}

export class StatsPanel {
  readonly region: Locator

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Statistics' })
  }

  async total(): Promise<number> {
    const dd = this.region.getByRole('definition').first()
    await expect(dd).toBeVisible({ timeout: STEP_TIMEOUT })
    return digits(await dd.textContent())
  }

  /** The value of one of the panel's figures, by its label ('Events/s', 'Last 5 min'). */
  figure(label: string): Promise<string | null> {
    return this.region
      .locator('div', { has: this.page.getByText(label, { exact: true }) })
      .locator('dd')
      .first()
      .textContent()
  }

  async eventsPerSecond(): Promise<number> {
    return Number((await this.figure('Events/s'))?.replace(/,/g, ''))
  }

  /** Waits until the total reaches want exactly. */
  async expectTotal(want: number, timeout = STEP_TIMEOUT): Promise<void> {
    await expect.poll(() => this.total(), { message: `total events to be ${want}`, timeout, ...every100 }).toBe(want)
  }

  /** Waits until Events/s is above 0. */
  async expectEventsPerSecondAboveZero(timeout = STEP_TIMEOUT): Promise<void> {
    await expect
      .poll(() => this.eventsPerSecond(), { message: 'events/s above 0', timeout, ...every100 })
      .toBeGreaterThan(0)
  }

  /** Waits until Events/s is 0. */
  async expectEventsPerSecondZero(timeout = STEP_TIMEOUT): Promise<void> {
    await expect.poll(() => this.eventsPerSecond(), { message: 'events/s to be 0', timeout, ...every100 }).toBe(0)
  }
}

export class QueuePanel {
  readonly region: Locator

  constructor(readonly page: Page) {
    this.region = page.getByRole('region', { name: 'Message Queue Monitor' })
  }

  row(elementId: string): Locator {
    return this.region.getByRole('listitem').filter({ hasText: `Element: ${elementId} ` })
  }

  /**
   * Waits until the message was in status: shown now, or listed in the
   * statuses seen live (a short state can be replaced within one 250 ms
   * render batch). Returns 'shown' or 'seen'.
   */
  async expectWent(elementId: string, status: string, timeout = STEP_TIMEOUT): Promise<'shown' | 'seen'> {
    const shown = this.row(elementId).filter({ has: this.page.getByText(status, { exact: true }) })
    const seen = this.row(elementId).filter({ hasText: new RegExp(`Seen live: .*\\b${status}\\b`) })
    await expect(shown.or(seen).first()).toBeVisible({ timeout })
    return (await shown.count()) > 0 ? 'shown' : 'seen'
  }

  async expectStatus(elementId: string, status: string, timeout = STEP_TIMEOUT): Promise<void> {
    await expect(
      this.row(elementId)
        .filter({ has: this.page.getByText(status, { exact: true }) })
        .first(),
    ).toBeVisible({ timeout })
  }
}

/** The navigation between views. */
export class Nav {
  readonly nav: Locator

  constructor(readonly page: Page) {
    this.nav = page.getByRole('navigation', { name: 'Views' })
  }

  async go(label: string): Promise<void> {
    await this.nav.getByRole('link', { name: label, exact: true }).click()
    await expect(this.nav.locator('[aria-current="page"]').filter({ hasText: label })).toBeVisible({
      timeout: STEP_TIMEOUT,
    })
  }
}

/** The message timeline dialog. */
export class TimelineDialog {
  readonly dialog: Locator

  constructor(readonly page: Page) {
    this.dialog = page.getByRole('dialog', { name: 'Message timeline' })
  }

  /** Waits for the stages and returns their labels in order. */
  async stages(): Promise<string[]> {
    const list = this.dialog.getByRole('list', { name: 'Stages' })
    await expect(list).toBeVisible({ timeout: STEP_TIMEOUT })
    return list
      .getByRole('listitem')
      .evaluateAll((items) => items.map((li) => li.querySelector('span:not([aria-hidden])')?.textContent ?? ''))
  }

  /** Waits until the stages include every one of want, in any order. */
  async expectStages(what: string, want: string[]): Promise<string[]> {
    let stages: string[] = []
    await expect
      .poll(
        async () => {
          stages = await this.stages()
          return stages
        },
        { message: `the timeline to show ${what}`, timeout: STEP_TIMEOUT, ...every100 },
      )
      .toEqual(expect.arrayContaining(want))
    return stages
  }

  fact(name: string): Locator {
    return this.dialog
      .getByLabel('Message')
      .locator('div', { has: this.page.getByText(name, { exact: true }) })
      .locator('dd')
  }

  async closeWithEscape(): Promise<void> {
    await this.page.keyboard.press('Escape')
    await expect(this.dialog).toHaveCount(0, { timeout: STEP_TIMEOUT })
  }
}

/** The dead-letter view. */
export class DLQView {
  readonly kinds: Locator
  readonly replay: Locator

  constructor(readonly page: Page) {
    this.kinds = page.getByRole('list', { name: 'Error kinds' })
    this.replay = page.getByRole('region', { name: 'Replay' })
  }

  group(kind: string): Locator {
    return this.kinds.getByRole('button', { name: new RegExp(`^${kind}`) })
  }

  /** Waits for the group and returns the number of records it holds. */
  async expectGroup(kind: string): Promise<number> {
    await expect(this.group(kind)).toBeVisible({ timeout: STEP_TIMEOUT })
    return digits(await this.group(kind).textContent())
  }

  async selectGroup(kind: string): Promise<void> {
    await this.kinds.getByRole('checkbox', { name: `Select group ${kind}` }).check()
  }

  /** Runs the dry run and returns the number it says would be replayed. */
  async dryRun(): Promise<number> {
    await this.replay.getByRole('button', { name: 'Dry run' }).click()
    const said = this.replay.getByText(/^Dry run: \d+ records? would be replayed/)
    await expect(said).toBeVisible({ timeout: STEP_TIMEOUT })
    return Number(/Dry run: (\d+)/.exec((await said.textContent()) ?? '')?.[1])
  }

  /** Confirms the replay and returns the number it says were replayed. */
  async confirm(): Promise<number> {
    await this.replay.getByRole('button', { name: /^Confirm replay of/ }).click()
    const said = this.replay.getByText(/^Replayed \d+ records?/)
    await expect(said).toBeVisible({ timeout: STEP_TIMEOUT })
    return Number(/Replayed (\d+)/.exec((await said.textContent()) ?? '')?.[1])
  }
}

/** The event explorer. */
export class ExplorerView {
  readonly form: Locator
  readonly table: Locator

  constructor(readonly page: Page) {
    this.form = page.getByRole('search', { name: 'Filter events' })
    this.table = page.getByRole('table', { name: 'Events, newest first' })
  }

  async search(filters: Record<string, string>): Promise<void> {
    for (const [label, value] of Object.entries(filters)) await this.form.getByLabel(label, { exact: true }).fill(value)
    const done = this.page.waitForResponse((r) => r.url().includes('/api/events/?'), { timeout: STEP_TIMEOUT })
    await this.form.getByRole('button', { name: 'Search' }).click()
    await done
  }

  rows(...texts: string[]): Locator {
    let rows = this.table.getByRole('row').filter({ has: this.page.getByRole('cell') })
    for (const t of texts) rows = rows.filter({ hasText: t })
    return rows
  }
}

/** The load-run view. */
export class LoadView {
  readonly form: Locator
  readonly bar: Locator

  constructor(readonly page: Page) {
    this.form = page.getByRole('form', { name: 'Start a load run' })
    this.bar = page.getByRole('progressbar')
  }

  async start({ rate, duration, failurePercent = 0 }: { rate: number; duration: number; failurePercent?: number }) {
    await this.form.getByLabel('Events per second').fill(String(rate))
    await this.form.getByLabel('Duration (s)').fill(String(duration))
    await this.form.getByLabel('Failure share (%)').fill(String(failurePercent))
    await this.form.getByRole('button', { name: 'Start' }).click()
    await expect(this.bar).toBeVisible({ timeout: STEP_TIMEOUT })
  }

  async progress(): Promise<number> {
    return Number(await this.bar.getAttribute('aria-valuenow'))
  }

  fact(name: string): Locator {
    return this.page
      .getByLabel('Load run')
      .locator('div', { has: this.page.getByText(name, { exact: true }) })
      .locator('dd')
  }

  async stop(): Promise<void> {
    await this.form.getByRole('button', { name: 'Stop' }).click()
  }

  async expectStatus(status: string, timeout: number): Promise<void> {
    await expect(this.fact('Status')).toHaveText(status, { timeout })
  }

  /** The cells of the past-runs table, newest run first. */
  async pastRuns(): Promise<string[][]> {
    const rows = this.page.getByRole('table', { name: 'Past load runs' }).getByRole('row')
    const out: string[][] = []
    for (const row of (await rows.all()).slice(1)) out.push(await row.getByRole('cell').allTextContents())
    return out
  }

  async expectDone(timeout: number): Promise<void> {
    await expect.poll(() => this.progress(), { message: 'the load run to reach 100%', timeout, ...every100 }).toBe(100)
  }
}

export { RETRY_TIMEOUT, STEP_TIMEOUT }

/** The Funnels page of Insights: the step builder, the bars and the table of steps. */
export class FunnelsView {
  readonly steps: Locator
  readonly chart: Locator
  readonly table: Locator

  constructor(readonly page: Page) {
    this.steps = page.getByRole('list', { name: 'Steps' })
    this.chart = page.getByRole('list', { name: 'Funnel chart' })
    this.table = page.getByRole('table', { name: 'Funnel steps' })
  }

  step(n: number): Locator {
    return this.steps.getByRole('group', { name: `Step ${n}`, exact: true })
  }

  async chooseType(n: number, type: string): Promise<void> {
    await this.step(n).getByLabel('Event type').selectOption(type)
  }

  /** Adds a filter to step n and fills it in: field, operator (its label) and value. */
  async addFilter(n: number, field: string, op: string, value: string): Promise<void> {
    await this.step(n)
      .getByRole('button', { name: `Add a filter to step ${n}` })
      .click()
    const filter = this.step(n).getByRole('group').last()
    await filter.getByLabel('Field', { exact: true }).selectOption(field)
    await filter.getByLabel('Operator').selectOption({ label: op })
    await filter.getByLabel(/^Value/).fill(value)
  }

  async addStep(): Promise<void> {
    await this.page.getByRole('button', { name: '+ Add step' }).click()
  }

  /** The bar of step n (1-based). */
  bar(n: number): Locator {
    return this.chart.getByRole('listitem').nth(n - 1)
  }

  /** The table row of step n (1-based). */
  row(n: number): Locator {
    return this.table.getByRole('row').nth(n)
  }
}

/** The Retention page of Insights: the cohort table. */
export class RetentionView {
  readonly table: Locator

  constructor(readonly page: Page) {
    this.table = page.getByRole('table', { name: 'Retention by cohort' })
  }

  /** The row of a cohort (or "Average"), by the text of its header cell. */
  row(name: string): Locator {
    return this.table.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name }) })
  }
}

/** A user's page (#/users/<id>). */
export class UserView {
  readonly header: Locator
  readonly sessions: Locator
  readonly events: Locator
  readonly loadMore: Locator

  constructor(
    readonly page: Page,
    readonly userId: string,
  ) {
    this.header = page.getByRole('region', { name: `User ${userId}`, exact: true })
    this.sessions = page.getByRole('table', { name: 'Recent sessions, newest first' })
    this.events = page.getByRole('table', { name: "The user's events, newest first" })
    this.loadMore = page.getByRole('button', { name: 'Load more' })
  }

  /** The figure under a name of the header: "First seen", "Last seen". */
  figure(name: string | RegExp): Locator {
    return this.header
      .locator('dl > div')
      .filter({ has: this.page.getByRole('term').getByText(name, { exact: true }) })
      .getByRole('definition')
  }

  /** The rows of the sessions table, header left out. */
  sessionRows(): Locator {
    return this.sessions.getByRole('row').filter({ has: this.page.getByRole('cell') })
  }

  /** The rows of the events table, header left out. */
  eventRows(): Locator {
    return this.events.getByRole('row').filter({ has: this.page.getByRole('cell') })
  }
}

/** The sign-in page, shown in place of the console while no one is signed in. */
export class SignInView {
  readonly form: Locator
  readonly heading: Locator

  constructor(readonly page: Page) {
    this.form = page.getByRole('form', { name: 'Sign in' })
    this.heading = page.getByRole('heading', { name: 'Sign in', exact: true })
  }

  async expectShown(): Promise<void> {
    await expect(this.heading).toBeVisible({ timeout: STEP_TIMEOUT })
  }

  /** Why a session in use ended, in the server's words. */
  reason(): Locator {
    return this.page.getByRole('main').getByRole('status')
  }

  /** Fills the form and submits it; the caller waits for what follows (the console, or an alert). */
  async submit(email: string, password: string): Promise<void> {
    await this.form.getByLabel('Email').fill(email)
    await this.form.getByLabel('Password').fill(password)
    await this.form.getByRole('button', { name: 'Sign in' }).click()
  }

  error(): Locator {
    return this.form.getByRole('alert')
  }
}

/** Who is signed in, in the header, and signing out. */
export class SessionHeader {
  readonly header: Locator

  constructor(readonly page: Page) {
    this.header = page.getByRole('banner')
  }

  async expectSignedIn(email: string, role: string): Promise<void> {
    await expect(this.header.getByText(email, { exact: true })).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(this.header.getByText(role, { exact: true })).toBeVisible()
  }

  async signOut(everywhere = false): Promise<void> {
    await this.header
      .getByRole('button', { name: everywhere ? 'Sign out everywhere' : 'Sign out', exact: true })
      .click()
  }
}

/** The admin's accounts and API tokens. */
export class AccountsView {
  readonly accounts: Locator
  readonly tokens: Locator
  readonly addForm: Locator
  readonly tokenForm: Locator

  constructor(readonly page: Page) {
    this.accounts = page.getByRole('table', { name: 'Accounts' })
    this.tokens = page.getByRole('table', { name: 'API tokens' })
    this.addForm = page.getByRole('form', { name: 'Add an account' })
    this.tokenForm = page.getByRole('form', { name: 'Create an API token' })
  }

  accountRow(email: string): Locator {
    return this.accounts.getByRole('row').filter({ hasText: email })
  }

  tokenRow(name: string): Locator {
    return this.tokens.getByRole('row').filter({ has: this.page.getByRole('cell', { name, exact: true }) })
  }

  async addAccount(email: string, role: string, password: string): Promise<void> {
    await this.addForm.getByLabel('Email').fill(email)
    await this.addForm.getByLabel('Role').selectOption(role)
    await this.addForm.getByLabel('Password').fill(password)
    await this.addForm.getByRole('button', { name: 'Add account' }).click()
    await expect(this.accountRow(email)).toBeVisible({ timeout: STEP_TIMEOUT })
  }

  async removeAccount(email: string): Promise<void> {
    await this.page.getByRole('button', { name: `Remove ${email}…` }).click()
    await this.accountRow(email).getByRole('button', { name: 'Remove', exact: true }).click()
    await expect(this.accountRow(email)).toHaveCount(0, { timeout: STEP_TIMEOUT })
  }

  /** Makes a token and returns its secret, read from the one place it is shown. */
  async createToken(name: string, role: string): Promise<string> {
    await this.tokenForm.getByLabel('Name').fill(name)
    await this.tokenForm.getByLabel('Role').selectOption(role)
    await this.tokenForm.getByRole('button', { name: 'Create token' }).click()
    const secret = this.page.getByLabel(`The secret of ${name}`, { exact: true })
    await expect(secret).toBeVisible({ timeout: STEP_TIMEOUT })
    return (await secret.textContent()) ?? ''
  }

  async revokeToken(name: string): Promise<void> {
    await this.page.getByRole('button', { name: `Revoke ${name}…` }).click()
    await this.tokenRow(name).getByRole('button', { name: 'Revoke', exact: true }).click()
    await expect(this.tokenRow(name).getByText('Revoked', { exact: true })).toBeVisible({ timeout: STEP_TIMEOUT })
  }
}

/** The Alerts view: its rules table, the rule form and the history. */
export class AlertsView {
  readonly rules: Locator
  readonly form: Locator
  readonly history: Locator

  constructor(readonly page: Page) {
    this.rules = page.getByRole('table', { name: 'Alert rules' })
    this.form = page.getByRole('form', { name: /New alert rule|Edit rule/ })
    this.history = page.getByRole('table', { name: 'Alert history' })
  }

  /** The row of a rule in the rules table. */
  rule(name: string): Locator {
    return this.rules.getByRole('row').filter({ hasText: name })
  }

  /** Fills the form's fields that are given, by their labels, and submits it. */
  async submit(fields: Record<string, string>, select: Record<string, string> = {}): Promise<void> {
    for (const [label, value] of Object.entries(select))
      await this.form.getByLabel(label, { exact: true }).selectOption(value)
    for (const [label, value] of Object.entries(fields)) await this.form.getByLabel(label, { exact: true }).fill(value)
    await this.form.getByRole('button', { name: /Add rule|Save rule/ }).click()
  }
}

/** The rewind card of the consumers view. */
export class RewindPanel {
  readonly card: Locator

  constructor(readonly page: Page) {
    this.card = page.getByRole('region', { name: 'Rewind' })
  }

  async choose(target: 'A time' | 'Earliest retained' | 'Latest (skip the lag)' | 'An offset'): Promise<void> {
    await this.card.getByLabel('Rewind to').selectOption({ label: target })
  }

  async dryRun(): Promise<Locator> {
    await this.card.getByRole('button', { name: 'Dry run' }).click()
    const table = this.card.getByRole('table', { name: 'Dry run partitions' })
    await expect(table).toBeVisible({ timeout: STEP_TIMEOUT })
    return table
  }

  async rewind(): Promise<Locator> {
    await this.card.getByRole('button', { name: 'Rewind', exact: true }).click()
    const table = this.card.getByRole('table', { name: 'Rewound partitions' })
    await expect(table).toBeVisible({ timeout: STEP_TIMEOUT })
    return table
  }

  summary(): Locator {
    return this.card.getByText(/^(Dry run: |Rewound \S+ to )/)
  }
}
