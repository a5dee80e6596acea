// The harness shared by the browser tests: it builds cmd/pulse (with the UI
// embedded) unless PULSE_BIN names one, starts `pulse serve` on free ports
// with its embedded Kafka broker and a fresh data directory, launches
// Debian's Chromium through playwright-core, runs a scenario, and stops
// everything. Every wait is on a condition.
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
export const resultsDir = path.join(webDir, 'test-results')
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'

export const STEP_TIMEOUT = 30_000
export const RETRY_TIMEOUT = 90_000

/** A test failure with a message worth showing as it is. */
export class Failure extends Error {}

export function log(msg) {
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
export async function until(what, timeoutMs, check) {
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
export class PulseServer {
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
      // Retries after about 100, 200 and 400 ms rather than the default 1, 2 and 4 s: Button 5 is
      // dead-lettered in well under a second, as the steps were timed for.
      '--retry-base',
      '100ms',
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

/**
 * Returns the pulse binary to test: PULSE_BIN when set (`make test-e2e`
 * passes the one it just built, UI included), otherwise one built into tmp
 * from the current sources with the UI built first.
 */
export function pulseBinary(tmp) {
  let binary = process.env.PULSE_BIN
  if (binary) {
    if (!existsSync(binary)) throw new Failure(`PULSE_BIN=${binary} does not exist`)
    return binary
  }
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
  return binary
}

async function run(tmp, name, scenario) {
  const binary = pulseBinary(tmp)
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

    await scenario({ page, server, browser, context })

    mkdirSync(resultsDir, { recursive: true })
    await page.screenshot({ path: path.join(resultsDir, `${name}.png`), fullPage: true })
    log(`screenshot: ${path.join(resultsDir, `${name}.png`)}`)

    if (consoleErrors.length > 0) throw new Failure(`the page logged errors:\n  ${consoleErrors.join('\n  ')}`)
  } catch (err) {
    if (browser) {
      try {
        mkdirSync(resultsDir, { recursive: true })
        const pages = browser.contexts().flatMap((c) => c.pages())
        if (pages[0]) await pages[0].screenshot({ path: path.join(resultsDir, `${name}-failure.png`), fullPage: true })
      } catch {
        // The failure itself is what matters.
      }
    }
    const failure = err instanceof Failure ? err : new Failure(err?.message ?? String(err))
    if (!failure.message.includes('--- server log'))
      failure.message += `\n--- server log (tail) ---\n${server.logTail()}`
    throw failure
  } finally {
    await browser?.close()
    await server.stop()
  }
}

/**
 * Runs scenario({ page, server, browser, context }) against a fresh server
 * and browser, saves test-results/<name>.png, fails on console errors, and
 * exits the process with 0 on success and 1 on failure.
 */
export async function runE2E(name, scenario) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `pulse-${name}-`))
  let code = 0
  try {
    await run(tmp, name, scenario)
    log('PASS')
  } catch (err) {
    process.stderr.write(`e2e: FAIL: ${err.message}\n`)
    code = 1
  } finally {
    if (process.env.E2E_KEEP === '1') log(`kept ${tmp}`)
    else rmSync(tmp, { recursive: true, force: true })
  }
  process.exit(code)
}
