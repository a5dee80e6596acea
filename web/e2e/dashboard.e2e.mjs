// End-to-end test of the dashboard against the real pulse binary: it builds
// cmd/pulse (with the UI embedded), starts `pulse serve` on free ports with
// its embedded Kafka broker and a fresh data directory, and drives Debian's
// Chromium through playwright-core. Every wait is on a condition.
//
//   npm run e2e            (builds the UI and the binary first)
//
// Environment: PULSE_BIN uses that binary instead of building one, CHROMIUM
// (default /usr/bin/chromium), E2E_KEEP=1 keeps the temporary directory with
// the server log.

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, createWriteStream, readFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const webDir = path.resolve(here, '..')
const repoDir = path.resolve(webDir, '..')
const resultsDir = path.join(webDir, 'test-results')
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'

const STEP_TIMEOUT = 30_000
const RETRY_TIMEOUT = 90_000

class Failure extends Error {}

function log(msg) {
  process.stdout.write(`e2e: ${msg}\n`)
}

/** Asks the kernel for a free loopback port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Polls check() until it returns a truthy value or the deadline passes. */
async function until(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      const v = await check()
      if (v) return v
    } catch (err) {
      if (err instanceof Failure) throw err
      last = err
    }
    if (Date.now() > deadline) {
      throw new Failure(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The pulse server process, started on free ports with a fresh data directory. */
class PulseServer {
  constructor(binary, tmp) {
    this.binary = binary
    this.tmp = tmp
    this.logPath = path.join(tmp, 'pulse.log')
    this.proc = null
    this.exited = null
  }

  async start() {
    const httpPort = await freePort()
    const brokerPort = await freePort()
    this.base = `http://127.0.0.1:${httpPort}`
    const args = [
      'serve',
      '--addr',
      `127.0.0.1:${httpPort}`,
      '--broker-addr',
      `127.0.0.1:${brokerPort}`,
      '--data-dir',
      path.join(this.tmp, 'data'),
    ]
    log(`starting ${this.binary} ${args.join(' ')}`)
    const out = createWriteStream(this.logPath)
    this.proc = spawn(this.binary, args, { cwd: this.tmp, stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc.stdout.pipe(out)
    this.proc.stderr.pipe(out)
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })))
    let gone = null
    this.exited.then((r) => {
      gone = r
    })
    try {
      await until('GET /api/health/ to answer 200', 60_000, async () => {
        if (gone) throw new Failure(`pulse serve exited early (${JSON.stringify(gone)})`)
        const res = await fetch(`${this.base}/api/health/`)
        return res.status === 200
      })
    } catch (err) {
      throw new Failure(`${err.message}\n--- server log (tail) ---\n${this.logTail()}`)
    }
    log(`server healthy at ${this.base}`)
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return '(no server log)'
    }
  }

  /** Stops the server: SIGTERM, then SIGKILL if it has not exited in 15 s. */
  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return
    this.proc.kill('SIGTERM')
    const timeout = new Promise((r) => setTimeout(() => r('timeout'), 15_000).unref())
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      log('server did not stop within 15 s of SIGTERM; killing it')
      this.proc.kill('SIGKILL')
      await this.exited
    }
  }
}

/** Page object of the whole dashboard, one getter per panel. */
class DashboardPage {
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

  userId() {
    return this.page.evaluate(() => window.localStorage.getItem('pulse.user_id'))
  }
}

class ActionsPanel {
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
    await this.region.getByRole('status').filter({ hasText: 'Message: sent form_submit' }).first().waitFor({ timeout: STEP_TIMEOUT })
  }
}

class FeedPanel {
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
    await this.rows(...texts).first().waitFor({ timeout: STEP_TIMEOUT })
  }
}

class StatsPanel {
  constructor(page) {
    this.page = page
    this.region = page.getByRole('region', { name: 'Statistics' })
  }

  async total() {
    const dd = this.region.getByRole('definition').first()
    await dd.waitFor({ timeout: STEP_TIMEOUT })
    return Number((await dd.textContent()).replace(/\D/g, ''))
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

class QueuePanel {
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

async function run(tmp) {
  // `make test-e2e` passes the binary it just built, UI included; otherwise
  // build the UI from the current sources and a binary embedding it.
  let binary = process.env.PULSE_BIN
  if (binary) {
    if (!existsSync(binary)) throw new Failure(`PULSE_BIN=${binary} does not exist`)
  } else {
    log('building the UI (npm run build)')
    try {
      execFileSync('npm', ['run', 'build'], { cwd: webDir, stdio: 'inherit' })
    } catch {
      throw new Failure('npm run build failed (see above)')
    }
    binary = path.join(tmp, 'pulse')
    log('building the pulse binary')
    try {
      execFileSync('go', ['build', '-o', binary, './cmd/pulse'], { cwd: repoDir, stdio: 'inherit' })
    } catch {
      throw new Failure('go build ./cmd/pulse failed (see above)')
    }
  }
  if (!existsSync(chromiumPath)) {
    throw new Failure(`no Chromium at ${chromiumPath}: apt-get install -y chromium, or set CHROMIUM`)
  }

  const server = new PulseServer(binary, tmp)
  // Interrupted, the runner still stops the server it started.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      server.proc?.kill('SIGKILL')
      rmSync(tmp, { recursive: true, force: true })
      process.exit(130)
    })
  }
  let browser
  try {
    await server.start()
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
      ],
    })
    const context = await browser.newContext({ viewport: { width: 1100, height: 1400 } })
    const page = await context.newPage()
    const consoleErrors = []
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`))

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
    await page.getByText(/latency p50 \d+ \/ \d+ \/ \d+ ms/).waitFor({ timeout: STEP_TIMEOUT })
    log('charts drawn')

    mkdirSync(resultsDir, { recursive: true })
    await page.screenshot({ path: path.join(resultsDir, 'dashboard.png'), fullPage: true })
    log(`screenshot: ${path.join(resultsDir, 'dashboard.png')}`)

    if (consoleErrors.length > 0) throw new Failure(`the page logged errors:\n  ${consoleErrors.join('\n  ')}`)
  } catch (err) {
    if (browser) {
      try {
        mkdirSync(resultsDir, { recursive: true })
        const pages = browser.contexts().flatMap((c) => c.pages())
        if (pages[0]) await pages[0].screenshot({ path: path.join(resultsDir, 'failure.png'), fullPage: true })
      } catch {
        // The failure itself is what matters.
      }
    }
    if (!(err instanceof Failure)) err = new Failure(err?.message ?? String(err))
    if (!err.message.includes('--- server log')) err.message += `\n--- server log (tail) ---\n${server.logTail()}`
    throw err
  } finally {
    await browser?.close()
    await server.stop()
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pulse-e2e-'))
let code = 0
try {
  await run(tmp)
  log('PASS')
} catch (err) {
  process.stderr.write(`e2e: FAIL: ${err.message}\n`)
  code = 1
} finally {
  if (process.env.E2E_KEEP === '1') log(`kept ${tmp}`)
  else rmSync(tmp, { recursive: true, force: true })
}
process.exit(code)
