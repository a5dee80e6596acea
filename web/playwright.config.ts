// The browser tests (e2e/*.spec.ts): Playwright Test driving Debian's
// Chromium (a browser download is not possible here, so never
// `playwright install`) against a real `pulse serve` that each spec file
// starts for itself (e2e/fixtures.ts). One worker and no retries: the
// machine has two cores, and a test that passes only on a second try is a
// bug to fix. Traces of failed tests and every screenshot go to
// test-results/, which a run empties first.
//
//   npm run e2e      (PULSE_BIN=path skips the build, CHROMIUM=path picks another browser)

import { defineConfig } from '@playwright/test'

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // The console scenario runs three load runs and two dead-letter rounds.
  timeout: 5 * 60_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: chromiumPath,
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
    },
    viewport: { width: 1100, height: 1400 },
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
