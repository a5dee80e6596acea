// What every spec file shares: `test` with the page's console watched (any
// console error a spec does not expect, or an uncaught exception, fails the
// test), a real server per spec file (usePulse), and the step timeouts the
// scenarios were timed for.

import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { test as base, expect, type Page } from '@playwright/test'
import { PulseServer, pulseBinary, type ServerOptions } from './server.ts'

export { expect }

/** How long one step may wait for the UI. */
export const STEP_TIMEOUT = 30_000
/** How long a message may take through its retries into the DLQ. */
export const RETRY_TIMEOUT = 90_000

export const test = base.extend<{ consoleErrors: string[]; allowedConsoleErrors: readonly RegExp[] }>({
  // What a spec expects the browser to log as an error: Chromium logs every
  // refused request (a 401 before sign-in, a 403 shown to the user).
  allowedConsoleErrors: [[], { option: true }],
  consoleErrors: [
    async ({ page, allowedConsoleErrors }, use) => {
      const errors: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error' && !allowedConsoleErrors.some((re) => re.test(m.text()))) {
          errors.push(`console: ${m.text()}`)
        }
      })
      page.on('pageerror', (err) => errors.push(`page error: ${err.message}`))
      await use(errors)
      expect(errors, 'the page logged errors').toEqual([])
    },
    { auto: true },
  ],
})

/**
 * Starts a fresh `pulse serve` (free ports, empty data directory, the
 * options' accounts and arguments) before the tests of the calling spec
 * file, runs seed against it, and stops it after them. A worker that
 * restarts after a failure starts another one.
 */
export function usePulse(
  seed?: (server: PulseServer) => Promise<void>,
  options?: ServerOptions,
): { server: () => PulseServer } {
  let server: PulseServer | null = null
  test.beforeAll(async () => {
    test.setTimeout(3 * 60_000)
    server = new PulseServer(pulseBinary(), options)
    await server.start()
    await seed?.(server)
  })
  test.afterAll(async () => {
    await server?.stop()
    server = null
  })
  // Playwright reads the fixtures a hook uses from its first parameter's pattern: this one uses none.
  // eslint-disable-next-line no-empty-pattern
  test.afterEach(async ({}, testInfo) => {
    if (server && testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach('server log', { path: server.logPath, contentType: 'text/plain' })
    }
  })
  return {
    server: () => {
      if (!server) throw new Error('the server has not started')
      return server
    },
  }
}

/** Where the screenshots for a human to look at go (test-results/screenshots/). */
export const screenshotDir = path.resolve(import.meta.dirname, '..', 'test-results', 'screenshots')

/** Saves a full-page screenshot of page as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true })
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true })
}
