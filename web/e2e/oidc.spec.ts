// Signing in through an OpenID provider, end to end in Chromium: a real
// provider (zitadel/oidc's example, run by test/oidctest/provider) and a
// real `pulse serve` that requires sign-in. The user opens a page, is
// asked to sign in, goes to the provider, signs in there, and comes back
// to the same page as the account the provider vouched for, with the role
// its group maps to; a user whose groups map to no role is refused, in
// words, and gets no session.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { Page } from '@playwright/test'
import { expect, STEP_TIMEOUT, test } from './fixtures.ts'
import { SessionHeader, SignInView } from './pages.ts'
import { freePort, PulseServer, pulseBinary } from './server.ts'

const repo = path.resolve(import.meta.dirname, '..', '..')

let server: PulseServer | null = null
let provider: ChildProcess | null = null

/** Builds and starts the provider with its users; resolves with its issuer and client once it serves. */
async function startProvider(
  dir: string,
  redirect: string,
): Promise<{ issuer: string; client_id: string; client_secret: string }> {
  const bin = path.join(dir, 'oidc-provider')
  execFileSync('go', ['build', '-o', bin, './test/oidctest/provider'], { cwd: repo, stdio: 'inherit' })
  const port = await freePort()
  const proc = spawn(
    bin,
    [
      '--addr',
      `127.0.0.1:${port}`,
      '--redirect',
      redirect,
      '--user',
      'ada:ada-provider-password:ada@example.com:pulse-admins',
      '--user',
      'mallory:mallory-provider-password:mallory@example.com:strangers',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  provider = proc
  const line = await new Promise<string>((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`the provider exited with ${code}`)))
    createInterface({ input: proc.stdout }).once('line', resolve)
  })
  return JSON.parse(line) as { issuer: string; client_id: string; client_secret: string }
}

test.beforeAll(async () => {
  test.setTimeout(3 * 60_000)
  server = new PulseServer(pulseBinary())
  const base = await server.reserve()
  const callback = `${base}/api/auth/oidc/callback/`
  const op = await startProvider(server.tmp, callback)
  server.addServeArgs(
    '--auth',
    'required',
    '--oidc-issuer',
    op.issuer,
    '--oidc-client-id',
    op.client_id,
    '--oidc-client-secret',
    op.client_secret,
    '--oidc-redirect-url',
    callback,
    '--oidc-role-map',
    'pulse-admins=admin,pulse-ops=operator',
    '--oidc-name',
    'Test IdP',
  )
  await server.start()
})

test.afterAll(async () => {
  provider?.kill('SIGTERM')
  await server?.stop()
})

// Chromium logs the 401 that asks for a sign-in, and the 404 of the
// favicon the example provider's login page does not have.
test.use({ allowedConsoleErrors: [/the server responded with a status of (401|404)/] })

/** Signs in at the provider's own login page. */
async function signInAtProvider(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel(/user ?name/i).fill(username)
  await page.getByLabel(/password/i).fill(password)
  await page.getByRole('button', { name: /log ?in/i }).click()
}

test('signs in through the provider, back on the page asked for, with the role its group maps to', async ({ page }) => {
  await page.goto(`${server!.base}/#/load`)
  const signIn = new SignInView(page)
  await signIn.expectShown()
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click()
  await expect(page).toHaveURL(/^http:\/\/127\.0\.0\.1:\d+\/login\//, { timeout: STEP_TIMEOUT })
  await signInAtProvider(page, 'ada', 'ada-provider-password')
  await new SessionHeader(page).expectSignedIn('ada@example.com', 'admin')
  await expect(page).toHaveURL(`${server!.base}/#/load`)
  await expect(page.getByRole('heading', { name: 'Load runs', level: 1 })).toBeVisible()
})

test('refuses someone the provider knows but no role is mapped for, and says why', async ({ page }) => {
  await page.goto(`${server!.base}/#/explorer`)
  await new SignInView(page).expectShown()
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click()
  await signInAtProvider(page, 'mallory', 'mallory-provider-password')
  await expect(page.getByRole('alert')).toContainText('The sign-in with your provider was refused', {
    timeout: STEP_TIMEOUT,
  })
  await new SignInView(page).expectShown()
  const me = await page.request.get(`${server!.base}/api/auth/me/`)
  expect(me.status()).toBe(401)
})
