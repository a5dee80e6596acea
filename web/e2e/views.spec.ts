// Every view, against a server seeded with a little of everything (events,
// dead letters, a finished load run): zero axe-core violations of the WCAG 2
// A and AA rules in the light and the dark colour scheme, no horizontal
// overflow on a 390 px wide phone, loaded there or narrowed to it. With
// PULSE_SCREENSHOTS=1 (`make screenshots`), screenshots at 390, 1440 and
// 1920 px in both schemes for a human to look at (test-results/screenshots/).

import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import type { PulseServer } from './server.ts'
import { expect, RETRY_TIMEOUT, screenshot, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'

/** The axe-core tags of the WCAG 2.0, 2.1 and 2.2 success criteria of levels A and AA. */
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

/** Each view reachable from the nav (and the timeline drawer): its hash, and what shows that its data is on the page. */
const VIEWS: {
  name: string
  hash: string
  ready: (page: Page) => Promise<void>
  /** Why the view's tests are skipped on this branch, when they are. */
  skip?: string
}[] = [
  {
    name: 'dashboard',
    hash: '#/',
    ready: async (page) => {
      await expect(page.locator('header').getByRole('status').filter({ hasText: 'Connected' })).toBeVisible()
      const feed = page.getByRole('region', { name: 'Live Event Feed' })
      await expect(feed.getByRole('listitem').first()).toBeVisible()
      const queue = page.getByRole('region', { name: 'Message Queue Monitor' })
      await expect(queue.getByRole('listitem').first()).toBeVisible()
      const pinned = page.getByRole('region', { name: 'Pinned insights' })
      await expect(pinned.getByRole('img', { name: /Events per hour/ })).toBeVisible()
    },
  },
  {
    // A breakdown against the previous period: the chart, its dashed lines and the change column.
    name: 'insights',
    hash: '#/insights?breakdown=page&compare=previous',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Trend totals' }).getByRole('row').nth(1)).toBeVisible()
      await expect(page.getByRole('img', { name: /Events per hour, with the previous period/ })).toBeVisible()
    },
  },
  {
    // A funnel with a filter and a breakdown: the builder, the bars, the steps with dropped users, the breakdown table.
    name: 'funnels',
    hash: '#/insights/funnels?breakdown=page&step=page_view&step=form_submit&where=0%3Apage%3Ais_set',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Funnel steps' }).getByRole('row').nth(2)).toBeVisible()
      await expect(page.getByRole('list', { name: 'Funnel chart' }).getByRole('listitem')).toHaveCount(2)
      await expect(page.getByRole('table', { name: 'Funnel by page' }).getByRole('row').nth(1)).toBeVisible()
    },
  },
  {
    name: 'retention',
    hash: '#/insights/retention',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Retention by cohort' }).getByRole('row').nth(1)).toBeVisible()
    },
  },
  {
    name: 'live',
    hash: '#/insights/live',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Top pages, last 5 minutes' }).getByRole('row').nth(1)).toBeVisible()
      await expect(page.getByRole('img', { name: /per minute/ })).toBeVisible()
    },
  },
  {
    name: 'saved insights',
    hash: '#/insights/saved',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Saved insights' }).getByRole('row').nth(2)).toBeVisible()
    },
  },
  {
    // A user's page: the seed's events are one user's.
    name: 'user',
    hash: '#/users/user_a11y',
    ready: async (page) => {
      await expect(
        page.getByRole('table', { name: 'Recent sessions, newest first' }).getByRole('row').nth(1),
      ).toBeVisible()
      await expect(
        page.getByRole('table', { name: "The user's events, newest first" }).getByRole('row').nth(1),
      ).toBeVisible()
    },
  },
  {
    // Open to this machine (no account yet), so the admin's page shows: the forms, and the empty tables.
    name: 'accounts',
    hash: '#/accounts',
    ready: async (page) => {
      await expect(page.getByRole('form', { name: 'Add an account' })).toBeVisible()
      await expect(page.getByRole('table', { name: 'API tokens' })).toBeVisible()
    },
  },
  {
    // Open to this machine: what the open server did is listed, if anything.
    name: 'audit',
    hash: '#/audit',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Audit log entries, newest first' })).toBeVisible()
    },
  },
  {
    // Open to this machine: the admin's page, with the default personal fields and no erasure yet.
    name: 'privacy',
    hash: '#/privacy',
    ready: async (page) => {
      await expect(page.getByRole('list', { name: 'Personal fields' })).toBeVisible()
      await expect(page.getByRole('heading', { name: 'Erased users' })).toBeVisible()
    },
  },
  {
    name: 'consumers',
    hash: '#/consumers',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Partitions' })).toBeVisible()
      await expect(page.getByRole('img', { name: 'Consumer lag history, last 1 h' })).toBeVisible()
    },
  },
  {
    name: 'alerts',
    hash: '#/alerts',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Alert rules' })).toBeVisible()
      await expect(page.getByRole('form', { name: 'New alert rule' })).toBeVisible()
      await expect(page.getByRole('table', { name: 'Alert history' })).toBeVisible()
    },
  },
  {
    name: 'ordering',
    hash: '#/ordering',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Held keys' })).toBeVisible()
    },
  },
  {
    name: 'dlq',
    hash: '#/dlq',
    ready: async (page) => {
      // One group open, so its records are checked too.
      const group = page.getByRole('list', { name: 'Error kinds' }).getByRole('button', { name: /^simulated failure/ })
      await group.click()
      await expect(page.getByRole('table', { name: 'Records of simulated failure' })).toBeVisible()
    },
  },
  {
    // The same view with a record inspected and a dry run done: the payload and the replay answer.
    name: 'dlq-dry-run',
    hash: '#/dlq',
    ready: async (page) => {
      const kinds = page.getByRole('list', { name: 'Error kinds' })
      await kinds.getByRole('button', { name: /^simulated failure/ }).click()
      await page
        .getByRole('button', { name: /^Inspect record/ })
        .first()
        .click()
      await expect(page.getByLabel('Payload')).toBeVisible()
      await kinds.getByRole('checkbox', { name: 'Select group simulated failure' }).check()
      const replay = page.getByRole('region', { name: 'Replay' })
      await replay.getByRole('button', { name: 'Dry run' }).click()
      await expect(replay.getByText(/^Dry run: \d+ records? would be replayed/)).toBeVisible()
    },
  },
  {
    name: 'explorer',
    hash: '#/explorer',
    ready: async (page) => {
      const table = page.getByRole('table', { name: 'Events, newest first' })
      await expect(table.getByRole('row').filter({ hasText: 'button_1' }).first()).toBeVisible()
    },
  },
  {
    name: 'load',
    hash: '#/load',
    ready: async (page) => {
      await expect(page.getByRole('form', { name: 'Start a load run' })).toBeVisible()
      await expect(page.getByRole('table', { name: 'Past load runs' }).getByRole('row').nth(1)).toBeVisible()
    },
  },
  {
    name: 'sources',
    hash: '#/sources',
    ready: async (page) => {
      await expect(page.getByRole('form', { name: 'Create a source' })).toBeVisible()
      await expect(page.getByLabel('The script tag of a11y-shop', { exact: true })).toBeVisible()
    },
  },
  {
    name: 'delivery',
    hash: '#/delivery',
    ready: async (page) => {
      await expect(page.getByRole('table', { name: 'Ledger by source' }).getByRole('row').nth(1)).toBeVisible()
      await expect(page.getByRole('img', { name: /received, stored/ })).toBeVisible()
    },
  },
  {
    name: 'plan',
    hash: '#/plan',
    ready: async (page) => {
      await expect(page.getByRole('list', { name: 'Event types' }).getByRole('listitem')).toHaveCount(1)
      await expect(page.getByRole('table', { name: 'Ingestion warnings' }).getByRole('row').nth(1)).toBeVisible()
    },
  },
  {
    // Not in the nav but over every view: the timeline drawer, here of a dead-lettered message.
    name: 'timeline',
    hash: '#/',
    ready: async (page) => {
      const queue = page.getByRole('region', { name: 'Message Queue Monitor' })
      await queue
        .getByRole('listitem')
        .filter({ hasText: 'Element: button_5 ' })
        .first()
        .getByRole('button', { name: /^Timeline/ })
        .click()
      const dialog = page.getByRole('dialog', { name: 'Message timeline' })
      await expect(dialog.getByRole('list', { name: 'Stages' }).getByText('Dead-lettered')).toBeVisible()
    },
  },
]

/** Events of every kind the dashboard shows, one dead-lettered, then a short load run with failures. */
async function seed(server: PulseServer): Promise<void> {
  const post = async (url: string, body: unknown) => {
    const res = await fetch(server.base + url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`)
  }
  const get = async (url: string): Promise<unknown> => (await fetch(server.base + url)).json()
  const user = { user_id: 'user_a11y', session_id: 'session_a11y' }
  // Saved insights, one pinned: the dashboard shows its card.
  await post('/api/insights/saved/', {
    name: 'Events by type',
    kind: 'trend',
    query: 'breakdown=event_type',
    pinned: true,
  })
  await post('/api/insights/saved/', {
    name: 'Click, then submit',
    kind: 'funnel',
    query: 'step=button_click&step=form_submit',
  })
  await post('/api/events/create/', { ...user, event_type: 'button_click', element_id: 'button_1' })
  await post('/api/events/create/', { ...user, event_type: 'page_view', element_id: 'nav', page: '/home' })
  await post('/api/events/create/', {
    ...user,
    event_type: 'form_submit',
    element_id: 'message_input',
    message: 'a message to read',
  })
  await post('/api/events/create/', { ...user, event_type: 'user_logout', element_id: 'logout' })
  await post('/api/events/create/', { ...user, event_type: 'button_click', element_id: 'button_5', should_fail: true })
  // A source with a batch through the collector: one event stored, one refused.
  const created = await fetch(server.base + '/api/sources/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'a11y-shop', origins: ['https://shop.example'] }),
  })
  const { source } = (await created.json()) as { source: { id: string; write_key: string } }
  // A plan that knows signup only, the source held to it in warn mode:
  // the page_view below is stored with a warning.
  const send = async (method: string, url: string, body: unknown) => {
    const res = await fetch(server.base + url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
  }
  await send('PUT', '/api/plan/types/signup/', {
    description: 'An account made',
    schema: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } },
  })
  await send('PATCH', `/api/sources/${source.id}/`, { settings: { plan: 'warn' } })
  await post('/api/collect', {
    key: source.write_key,
    events: [
      {
        event_type: 'page_view',
        anonymous_id: 'anon_a11y',
        stream_id: 'st_a11y',
        seq: 1,
        page: 'https://shop.example/',
      },
      { event_type: 'Bad Type', anonymous_id: 'anon_a11y' },
    ],
  })
  await post('/api/load/', { events_per_second: 20, duration_seconds: 1, failure_rate: 0.2 })
  await expect
    .poll(async () => ((await get('/api/load/')) as { status: string }).status, { timeout: STEP_TIMEOUT })
    .toBe('completed')
  await expect
    .poll(async () => ((await get('/api/dlq/')) as { total: number }).total, { timeout: RETRY_TIMEOUT })
    .toBeGreaterThan(1)
}

const pulse = usePulse(seed)

async function open(page: Page, view: (typeof VIEWS)[number]): Promise<void> {
  test.skip(view.skip !== undefined, view.skip)
  await page.goto(`${pulse.server().base}/${view.hash}`)
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible()
  await view.ready(page)
}

/** Set (PULSE_SCREENSHOTS=1, `make screenshots`) to save every view at 390, 1440 and 1920 px in both schemes. */
const SCREENSHOTS = process.env.PULSE_SCREENSHOTS === '1'

/** Saves the view's screenshot for a human to look at, when they are asked for. */
async function shoot(page: Page, view: (typeof VIEWS)[number], width: number, scheme: string): Promise<void> {
  if (SCREENSHOTS) await screenshot(page, `${view.name}-${width}-${scheme}`)
}

/** The violations axe-core finds on the page, one line per rule and element. */
async function axeViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze()
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact ?? 'n/a'}): ${n.target.join(' ')}: ${n.failureSummary ?? v.help}`),
  )
}

/** The page's scroll and client widths, and the innermost elements reaching past the right edge. */
async function widths(page: Page): Promise<{ scrollWidth: number; clientWidth: number; wide: string }> {
  return page.evaluate(() => {
    const el = document.scrollingElement ?? document.documentElement
    // Content clipped by a scrolling or clipping ancestor does not widen the page.
    const clipped = (e: Element) => {
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return true
      }
      return false
    }
    const past = [...document.body.querySelectorAll('*')].filter(
      (e) => e.getBoundingClientRect().right > el.clientWidth + 0.5 && !clipped(e),
    )
    const wide = past
      .filter((e) => !past.some((o) => o !== e && e.contains(o)))
      .slice(0, 5)
      .map((e) => `<${e.tagName.toLowerCase()} class="${e.getAttribute('class') ?? ''}">`)
    return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, wide: wide.join(', ') || 'none' }
  })
}

/** Waits until the page fits its width, failing with the last widths seen and what reached past the edge. */
async function expectFits(page: Page, what: string): Promise<void> {
  let last = { scrollWidth: 0, clientWidth: 0, wide: '' }
  await expect
    .poll(
      async () => {
        last = await widths(page)
        return last.scrollWidth <= last.clientWidth
      },
      { message: `${what}: the page to fit its width`, timeout: 5_000 },
    )
    .toBe(true)
    .catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast seen: ${JSON.stringify(last)}`)
    })
}

// One test per view walks it through every check, loading it twice instead of once per check: the
// sweep is most of the browser suite's time. A step's message names the scheme or width that failed.
for (const view of VIEWS) {
  test(`${view.name}: no axe violations (WCAG 2 A/AA) light or dark, fits a 390 px phone`, async ({ page }) => {
    await page.setViewportSize({ width: 1440, height: 900 })
    await page.emulateMedia({ colorScheme: 'light' })
    await open(page, view)
    expect(await axeViolations(page), 'axe, light colour scheme').toEqual([])
    await shoot(page, view, 1440, 'light')
    // Switched while open, as when the system's scheme changes at dusk: the colours follow.
    await page.emulateMedia({ colorScheme: 'dark' })
    expect(await axeViolations(page), 'axe, dark colour scheme').toEqual([])
    await shoot(page, view, 1440, 'dark')
    await page.setViewportSize({ width: 1920, height: 900 })
    await shoot(page, view, 1920, 'dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await shoot(page, view, 1920, 'light')
    // A window made narrower, or a tablet turned, must reflow as well: what was sized for the wide
    // page (the charts) follows the new width.
    await page.setViewportSize({ width: 390, height: 844 })
    await expectFits(page, 'narrowed from 1440 px to 390 px')
    await shoot(page, view, 390, 'light')
    // Loaded on the phone, from the view's own address: the steps above may have put state (an open
    // group, a drawer) in the URL, which a reload would keep.
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.goto('about:blank')
    await open(page, view)
    await expectFits(page, 'loaded at 390 px')
    await shoot(page, view, 390, 'dark')
  })
}
