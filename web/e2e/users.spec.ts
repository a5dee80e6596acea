// A user's page through a real server: events of one user (with a slash in
// the id, sent out of time order, in two sessions and without one) are
// produced, the page opens from the explorer's user link, and shows the
// first and last seen, the sessions and the events, paged with Load more.

import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { expect, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { ExplorerView, UserView } from './pages.ts'

const pulse = usePulse()

const USER = 'e2e/ana'
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

interface Sent {
  user_id: string
  event_type: string
  timestamp: string
  session_id?: string
  page?: string
  element_id?: string
}

/** The events of USER and another user, relative to now; shuffled, so stored out of time order. */
function events(now: number): Sent[] {
  const at = (ms: number) => new Date(now - ms).toISOString()
  const out: Sent[] = [
    // The first seen: five days ago, without a session.
    { user_id: USER, event_type: 'page_view', page: '/landing', timestamp: at(5 * DAY) },
    // Session sa, two days ago, 90 s long.
    { user_id: USER, event_type: 'page_view', session_id: 'sa', page: '/home', timestamp: at(2 * DAY) },
    { user_id: USER, event_type: 'page_view', session_id: 'sa', page: '/pricing', timestamp: at(2 * DAY - 30_000) },
    { user_id: USER, event_type: 'signup', session_id: 'sa', page: '/signup', timestamp: at(2 * DAY - 90_000) },
    // Session sb, an hour ago, a minute long; its last event is the last seen.
    { user_id: USER, event_type: 'page_view', session_id: 'sb', page: '/home', timestamp: at(HOUR) },
    { user_id: USER, event_type: 'add_to_cart', session_id: 'sb', page: '/cart', timestamp: at(HOUR - 45_000) },
    { user_id: USER, event_type: 'button_click', session_id: 'sb', element_id: 'pay', timestamp: at(HOUR - MIN) },
    // Another user's, on the same session id: not this user's.
    { user_id: 'e2e/bob', event_type: 'page_view', session_id: 'sb', page: '/other', timestamp: at(10 * MIN) },
  ]
  // Clicks without a session, three hours ago: more events than a page of 50.
  for (let i = 0; i < 55; i++) {
    out.push({
      user_id: USER,
      event_type: 'button_click',
      element_id: `btn_${i}`,
      timestamp: at(3 * HOUR - i * 10_000),
    })
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** A time as the page writes it (format.ts dateTime), in the browser's locale and zone. */
function shown(page: Page, iso: string): Promise<string> {
  return page.evaluate(
    (t) =>
      new Intl.DateTimeFormat(undefined, {
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }).format(new Date(t)),
    iso,
  )
}

test("a user's page, opened from the explorer: first and last seen, sessions and events", async ({ page }) => {
  const server = pulse.server()
  const sent = events(Date.now())
  const mine = sent.filter((e) => e.user_id === USER)
  const times = mine.map((e) => e.timestamp).sort()

  await test.step('the events are produced and stored', async () => {
    const r = await fetch(`${server.base}/api/events/batch/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: sent }),
    })
    expect(r.status, 'batch').toBe(201)
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${server.base}/api/queue/stats/`)).json()) as { completed: number }).completed,
        { message: `${sent.length} events stored`, timeout: STEP_TIMEOUT },
      )
      .toBe(sent.length)
  })

  const user = new UserView(page, USER)
  await test.step("the explorer's user link opens the user's page", async () => {
    await page.goto(`${server.base}/#/explorer?user_id=${encodeURIComponent(USER)}`)
    const explorer = new ExplorerView(page)
    await explorer.rows().first().getByRole('link', { name: USER, exact: true }).click()
    await expect(page).toHaveURL(/#\/users\/e2e%2Fana$/)
    await expect(page).toHaveTitle(`Pulse — User ${USER}`)
  })

  await test.step('first and last seen, and the events counted', async () => {
    await expect(user.figure('First seen')).toHaveText(await shown(page, times[0]), { timeout: STEP_TIMEOUT })
    await expect(user.figure('Last seen')).toHaveText(await shown(page, times[times.length - 1]))
    await expect(user.figure(/^Events since /)).toHaveText(String(mine.length))
    await expect(user.figure('User ID')).toHaveText(USER)
    const types = page.getByRole('list', { name: 'Events per type' }).getByRole('listitem')
    await expect(types.first()).toHaveText('button_click56')
    await expect(page.getByRole('img', { name: 'Events per day, the last 90 days' })).toBeVisible()
  })

  await test.step('the sessions, newest first, without the other user and the sessionless events', async () => {
    const rows = user.sessionRows()
    await expect(rows).toHaveCount(2)
    await expect(rows.nth(0).getByRole('cell')).toHaveText([
      await shown(page, times[times.length - 3]),
      '1 min',
      '3',
      '/home → /cart',
      'sb',
    ])
    await expect(rows.nth(1).getByRole('cell')).toHaveText([
      await shown(page, mine.find((e) => e.session_id === 'sa' && e.page === '/home')?.timestamp ?? ''),
      '1.5 min',
      '3',
      '/home → /pricing → /signup',
      'sa',
    ])
    await expect(page.getByText(`From the latest ${mine.length} events.`)).toBeVisible()
  })

  await test.step('the events, newest first, paged with Load more from the keyboard', async () => {
    await expect(user.eventRows()).toHaveCount(50, { timeout: STEP_TIMEOUT })
    await expect(user.events.getByRole('columnheader', { name: 'User' })).toHaveCount(0)
    await user.loadMore.focus()
    await page.keyboard.press('Enter')
    await expect(user.eventRows()).toHaveCount(mine.length, { timeout: STEP_TIMEOUT })
    await expect(user.loadMore).toHaveCount(0)
    // Every event of the user, each once, and none of the other user's.
    await expect(user.events.getByText('/other')).toHaveCount(0)
    await expect(user.events.getByText('/landing')).toHaveCount(1)
  })

  await test.step('the page has no axe violations (WCAG 2 A/AA)', async () => {
    const { violations } = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
      .analyze()
    expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  })
})

test('a user never seen has no events', async ({ page, consoleErrors }) => {
  await page.goto(`${pulse.server().base}/#/users/nobody_here`)
  await expect(page.getByText('No events for this user.')).toBeVisible({ timeout: STEP_TIMEOUT })
  await expect(page.getByRole('alert')).toHaveCount(0)
  // The browser reports the 404 of the answer itself; it is the expected answer, not an error of the page.
  const expected = consoleErrors.filter((e) => e.includes('404'))
  expect(expected, consoleErrors.join('\n')).toHaveLength(1)
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !e.includes('404')))
})
