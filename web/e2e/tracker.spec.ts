// pulse.js on a real site: a page served from a second local origin loads
// the tracker from the pulse server, as a customer's site would, and every
// promise is checked in what the server stored and in the delivery ledger:
// SPA page views, a marked click, a tab closed right after a click, the
// collector unreachable (offline, then a reload), the collector answering
// 503 for a while, a batch sent twice, a foreign origin, consent withheld,
// and a batch deliberately lost, which the ledger must show as the exact
// gap.

import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page, Request } from '@playwright/test'
import { expect, test, usePulse } from './fixtures.ts'

const pulse = usePulse()

interface Source {
  id: string
  write_key: string
}
interface Stored {
  event_id: string
  event_type: string
  source_id?: string
  element_id: string
  page?: string
  properties?: Record<string, unknown>
}
interface Counts {
  numbered: number
  received: number
  stored: number
  sequenced: number
  duplicates: number
  gaps: number
  rejected: number
}

/** A customer's site on its own origin: one page whose script tag is given per test. */
class Site {
  private server: http.Server | null = null
  base = ''
  tag = ''

  async start(host = '127.0.0.1'): Promise<void> {
    this.server = http.createServer((req, res) => {
      // Every path is the SPA's page, as a history-API site serves it.
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html><head><title>Shop ${req.url ?? ''}</title>${this.tag}</head><body>
<nav><a id="to-cart" href="/cart">Cart</a> <a id="to-about" href="/about">About</a></nav>
<button id="signup" data-pulse-event="signup_click" data-pulse-prop-plan="pro">Sign up</button>
<button id="plain">Not tracked</button>
<script>
for (const a of document.querySelectorAll('nav a')) {
  a.addEventListener('click', (e) => { e.preventDefault(); history.pushState({}, '', a.getAttribute('href')); document.title = 'Shop ' + location.pathname })
}
</script></body></html>`)
    })
    await new Promise<void>((resolve) => this.server?.listen(0, host, resolve))
    const { port } = this.server.address() as AddressInfo
    this.base = `http://${host}:${port}`
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}

const site = new Site()
const foreign = new Site()

test.beforeAll(async () => {
  await site.start('127.0.0.1')
  await foreign.start('localhost')
})
test.afterAll(async () => {
  await site.stop()
  await foreign.stop()
})

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(pulse.server().base + path, init)
  expect(r.ok, `${init?.method ?? 'GET'} ${path}: ${r.status} ${await r.clone().text()}`).toBe(true)
  return (await r.json()) as T
}

/** A new source allowed from the site's origin. */
async function newSource(name: string, origins = [site.base]): Promise<Source> {
  const { source } = await api<{ source: Source }>('/api/sources/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, origins }),
  })
  return source
}

function useTag(src: Source, extra = ''): void {
  const tag = `<script defer src="${pulse.server().base}/pulse.js" data-key="${src.write_key}" ${extra}></script>`
  site.tag = tag
  foreign.tag = tag
}

/** The events the server stored for a source. */
async function stored(src: Source): Promise<Stored[]> {
  const { events } = await api<{ events: Stored[] }>('/api/events/latest/?limit=1000')
  return events.filter((e) => e.source_id === src.id)
}

async function ledger(src: Source): Promise<Counts> {
  const { totals } = await api<{ totals: (Counts & { source_id: string })[] }>(
    `/api/ledger/?range=15m&source=${src.id}`,
  )
  return totals[0] ?? { numbered: 0, received: 0, stored: 0, sequenced: 0, duplicates: 0, gaps: 0, rejected: 0 }
}

async function expectStored(src: Source, n: number, message: string): Promise<Stored[]> {
  await expect.poll(async () => (await stored(src)).length, { message, timeout: 30_000 }).toBe(n)
  return stored(src)
}

/** The collector's requests of a page. */
function collectRequests(page: Page): Request[] {
  const seen: Request[] = []
  page.on('request', (r) => {
    if (r.url().includes('/api/collect')) seen.push(r)
  })
  return seen
}

/** Console errors a refused or failed collector request makes the browser log, which these tests cause on purpose. */
function forgiveCollectorErrors(errors: string[]): void {
  for (let i = errors.length - 1; i >= 0; i--) {
    if (/Failed to load resource|net::ERR_|status of (403|503)/.test(errors[i])) errors.splice(i, 1)
  }
}

test('page views on load and SPA navigation, a marked click, nothing else', async ({ page }) => {
  const src = await newSource('spa')
  useTag(src)
  await page.goto(site.base + '/')
  await page.click('#to-cart')
  await page.click('#to-about')
  await page.goBack()
  await page.click('#signup')
  await page.click('#plain')
  const events = await expectStored(src, 5, 'four page views and one click to be stored')
  const views = events.filter((e) => e.event_type === 'page_view').map((e) => new URL(e.page ?? '').pathname)
  expect(views.sort()).toEqual(['/', '/about', '/cart', '/cart'])
  const click = events.find((e) => e.event_type === 'signup_click')
  expect(click?.element_id).toBe('signup')
  expect(click?.properties).toMatchObject({ plan: 'pro' })
  await expect
    .poll(async () => ledger(src), { timeout: 15_000 })
    .toMatchObject({ numbered: 5, sequenced: 5, gaps: 0, duplicates: 0 })
})

test('a tab closed right after a click still delivers it', async ({ context }) => {
  const src = await newSource('closed-tab')
  useTag(src)
  const page = await context.newPage()
  await page.goto(site.base + '/')
  await expectStored(src, 1, 'the page view')
  await page.click('#signup')
  await page.close({ runBeforeUnload: true })
  const events = await expectStored(src, 2, 'the click sent as the tab closed')
  expect(events.map((e) => e.event_type).sort()).toEqual(['page_view', 'signup_click'])
})

test('events made while the collector is unreachable are delivered once after a reload', async ({
  page,
  consoleErrors,
}) => {
  const src = await newSource('offline')
  useTag(src)
  await page.route('**/api/collect**', (route) => route.abort('internetdisconnected'))
  await page.goto(site.base + '/')
  await page.click('#signup')
  await page.evaluate(() =>
    (window as unknown as { pulse: { track: (t: string, p: object) => void } }).pulse.track('offline_thing', { n: 1 }),
  )
  await page.waitForTimeout(1500)
  expect(await stored(src)).toHaveLength(0)
  await page.unroute('**/api/collect**')
  await page.reload()
  const events = await expectStored(src, 4, 'the three queued events and the second page view')
  expect(new Set(events.map((e) => e.event_id)).size).toBe(4)
  await page.waitForTimeout(2000)
  expect(await stored(src), 'nothing sent twice is stored twice').toHaveLength(4)
  await expect.poll(async () => ledger(src), { timeout: 15_000 }).toMatchObject({ numbered: 4, sequenced: 4, gaps: 0 })
  forgiveCollectorErrors(consoleErrors)
})

test('going offline and back online delivers the queue once', async ({ page, context, consoleErrors }) => {
  const src = await newSource('online')
  useTag(src)
  await page.goto(site.base + '/')
  await expectStored(src, 1, 'the page view')
  await context.setOffline(true)
  await page.click('#signup')
  await page.click('#signup')
  await page.waitForTimeout(1500)
  await context.setOffline(false)
  await expectStored(src, 3, 'the two clicks made offline')
  forgiveCollectorErrors(consoleErrors)
})

test('a collector answering 503 for a while: retried, stored once', async ({ page, consoleErrors }) => {
  const src = await newSource('unavailable')
  useTag(src)
  let refused = 0
  await page.route('**/api/collect**', async (route) => {
    if (refused < 3) {
      refused++
      await route.fulfill({
        status: 503,
        headers: { 'Retry-After': '1', 'Access-Control-Allow-Origin': site.base },
        body: '{"error":"kafka unavailable"}',
      })
      return
    }
    await route.continue()
  })
  await page.goto(site.base + '/')
  await page.click('#signup')
  await expectStored(src, 2, 'the events retried after three 503s')
  expect(refused).toBe(3)
  await page.waitForTimeout(2000)
  expect(await stored(src)).toHaveLength(2)
  forgiveCollectorErrors(consoleErrors)
})

test('a batch sent twice is stored once and counted as a duplicate', async ({ page }) => {
  const src = await newSource('replayed')
  useTag(src)
  const requests = collectRequests(page)
  await page.goto(site.base + '/')
  await expectStored(src, 1, 'the page view')
  const body = requests[0].postData()
  expect(body).toBeTruthy()
  const r = await fetch(`${pulse.server().base}/api/collect`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: body ?? '',
  })
  expect(r.status).toBe(200)
  await expect
    .poll(async () => ledger(src), { timeout: 15_000 })
    .toMatchObject({ received: 2, stored: 1, duplicates: 1, gaps: 0 })
  expect(await stored(src)).toHaveLength(1)
})

test('a foreign origin is refused and nothing is stored', async ({ page, consoleErrors }) => {
  const src = await newSource('foreign-refused')
  useTag(src)
  const answers: number[] = []
  page.on('response', (r) => {
    if (r.url().includes('/api/collect')) answers.push(r.status())
  })
  await page.goto(foreign.base + '/')
  await page.click('#signup')
  await expect.poll(() => answers.length, { timeout: 15_000 }).toBeGreaterThan(0)
  expect(answers.every((s) => s === 403)).toBe(true)
  await page.waitForTimeout(1500)
  expect(await stored(src)).toHaveLength(0)
  forgiveCollectorErrors(consoleErrors)
})

test('with consent required, nothing is stored or sent until consent', async ({ page }) => {
  const src = await newSource('consent')
  useTag(src, 'data-consent="required"')
  const requests = collectRequests(page)
  await page.goto(site.base + '/')
  await page.click('#signup')
  await page.waitForTimeout(2000)
  expect(requests, 'requests before consent').toHaveLength(0)
  const keys = await page.evaluate(() => Object.keys(localStorage))
  expect(keys, 'first-party storage before consent').toEqual([])
  await page.evaluate(() => (window as unknown as { pulse: { consent: (g: boolean) => void } }).pulse.consent(true))
  await expectStored(src, 2, 'the page view and the click, once consent was given')
})

test('a batch lost on the way is the exact gap in the ledger', async ({ page }) => {
  const src = await newSource('lossy')
  useTag(src)
  let lost = 0
  await page.route('**/api/collect**', async (route) => {
    const body = JSON.parse(route.request().postData() ?? '{}') as { events?: { event_type: string }[] }
    if (lost === 0 && body.events?.some((e) => e.event_type === 'signup_click')) {
      // Answered as if delivered, never forwarded: the tracker cannot know.
      lost = body.events.length
      await route.fulfill({
        status: 200,
        headers: { 'Access-Control-Allow-Origin': site.base, 'Content-Type': 'application/json' },
        body: JSON.stringify({ accepted: lost, rejected: [] }),
      })
      return
    }
    await route.continue()
  })
  await page.goto(site.base + '/')
  await expectStored(src, 1, 'the page view')
  await page.click('#signup')
  await page.waitForTimeout(1500)
  await page.click('#to-cart')
  await expectStored(src, 2, 'the page views around the lost batch')
  expect(lost).toBeGreaterThan(0)
  await expect
    .poll(async () => ledger(src), { timeout: 15_000 })
    .toMatchObject({ numbered: 2 + lost, sequenced: 2, gaps: lost })
})

test('a source held to the tracking plan: strict refuses with the reason, warn stores and counts', async ({
  page,
  consoleErrors,
}) => {
  const send = (method: string, path: string, body: unknown) =>
    api(path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  await send('PUT', '/api/plan/types/page_view/', { schema: true })
  await send('PUT', '/api/plan/types/signup_click/', {
    schema: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } },
  })
  const track = (type: string, props: object) =>
    page.evaluate(
      ([t, p]) => (window as unknown as { pulse: { track: (t: string, p: object) => void } }).pulse.track(t, p),
      [type, props] as const,
    )
  const warnings = async (src: Source) =>
    (
      await api<{
        warnings: { event_type: string; problem: string; warned: number; rejected: number; example: unknown }[]
      }>(`/api/plan/warnings/?range=1h&source=${src.id}`)
    ).warnings
      .map((w) => `${w.event_type} ${w.problem} warned=${w.warned} rejected=${w.rejected}`)
      .sort()

  const strict = await newSource('plan-strict')
  await send('PATCH', `/api/sources/${strict.id}/`, { settings: { plan: 'strict' } })
  useTag(strict)
  await page.goto(site.base + '/')
  await page.click('#signup') // plan "pro": keeps the plan
  await track('signup_click', { plan: 'gold' })
  await track('coupon_used', { code: 'X' })
  const kept = await expectStored(strict, 2, 'the page view and the click that keeps the plan')
  expect(kept.map((e) => e.event_type).sort()).toEqual(['page_view', 'signup_click'])
  await expect
    .poll(() => warnings(strict), { timeout: 15_000 })
    .toEqual([
      'coupon_used unknown_event_type warned=0 rejected=1',
      'signup_click /properties/plan/enum warned=0 rejected=1',
    ])
  await expect.poll(async () => (await ledger(strict)).rejected, { timeout: 15_000 }).toBe(2)

  const warn = await newSource('plan-warn')
  await send('PATCH', `/api/sources/${warn.id}/`, { settings: { plan: 'warn' } })
  useTag(warn)
  await page.goto(site.base + '/')
  await track('signup_click', { plan: 'gold' })
  await expectStored(warn, 2, 'the page view and the click that breaks the plan, stored with a warning')
  await expect
    .poll(() => warnings(warn), { timeout: 15_000 })
    .toEqual(['signup_click /properties/plan/enum warned=1 rejected=0'])
  // The two refused events may leave in a batch of their own (the tracker batches by time): the
  // collector answers such a batch 400 with the reasons, and the browser logs the status.
  for (let i = consoleErrors.length - 1; i >= 0; i--) {
    if (/status of 400/.test(consoleErrors[i])) consoleErrors.splice(i, 1)
  }
})

test('a source keeps the client’s IP address only when it asks', async ({ page }) => {
  const plain = await newSource('no-ip')
  useTag(plain)
  await page.goto(site.base + '/')
  const [view] = await expectStored(plain, 1, 'the page view of the source that keeps no IP')
  // The site's page is on 127.0.0.1 too: the address is looked for in the properties, not the page.
  expect(view.properties ?? {}).not.toHaveProperty('pulse_client_ip')
  expect(Object.values(view.properties ?? {})).not.toContain('127.0.0.1')

  const keeping = await newSource('with-ip')
  await api(`/api/sources/${keeping.id}/`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ settings: { store_ip: true } }),
  })
  useTag(keeping)
  await page.goto(site.base + '/')
  const [kept] = await expectStored(keeping, 1, 'the page view of the source that keeps IPs')
  expect(kept.properties).toMatchObject({ pulse_client_ip: '127.0.0.1' })
})
