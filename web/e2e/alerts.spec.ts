// Alerts against a real server and a real local webhook receiver: a rule
// made in the console fires on the consumer group's reading, is notified
// once, shows in the history with its delivery attempt and as a marker on
// the lag chart; silenced, its resolution is recorded and not sent; it is
// deleted with its history kept.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect, STEP_TIMEOUT, test, usePulse } from './fixtures.ts'
import { AlertsView, Nav } from './pages.ts'

// The receiver listens on loopback, which webhooks may not reach unless allowed.
const pulse = usePulse(undefined, { serveArgs: ['--alerts-interval', '1s', '--alerts-allow-net', '127.0.0.1/32'] })

interface Received {
  kind: string
  rule_name: string
}

let receiver: Server
const received: Received[] = []

test.beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      received.push(JSON.parse(body) as Received)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
})

test.afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve))
})

test('a rule made in the console fires, notifies once, is silenced, resolves and shows in the history', async ({
  page,
}) => {
  const server = pulse.server()
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  const alerts = new AlertsView(page)
  await page.goto(`${server.base}/#/`)
  await new Nav(page).go('Alerts')

  await test.step('add a rule: fewer than 5 consumers (3 run)', async () => {
    await alerts.submit(
      { Name: 'Consumers gone', Threshold: '5', For: '0', 'Webhook URL': hook },
      { Signal: 'consumers', When: 'below' },
    )
    await expect(alerts.rule('Consumers gone')).toContainText('Consumers in the group below 5')
  })

  await test.step('it fires, is notified once and the history shows the delivery', async () => {
    await expect(alerts.rule('Consumers gone')).toContainText('firing', { timeout: STEP_TIMEOUT })
    const row = alerts.history.getByRole('row').filter({ hasText: 'firing' })
    await expect(row).toContainText('delivered', { timeout: STEP_TIMEOUT })
    await expect(row).toContainText('1 attempt')
    await expect(row.getByRole('list', { name: /Delivery attempts/ })).toContainText('204')
    expect(received).toEqual([expect.objectContaining({ kind: 'firing', rule_name: 'Consumers gone' })])
  })

  await test.step('silenced, then made looser than the group: resolved, recorded, not sent', async () => {
    await page.getByRole('button', { name: 'Silence Consumers gone for 1 hour' }).click()
    await expect(alerts.rule('Consumers gone')).toContainText('silenced until')
    await page.getByRole('button', { name: 'Edit Consumers gone' }).click()
    await alerts.submit({ Threshold: '1' })
    await expect(alerts.rule('Consumers gone')).toContainText('below 1')
    const resolved = alerts.history.getByRole('row').filter({ hasText: 'resolved' })
    await expect(resolved).toContainText('silenced', { timeout: STEP_TIMEOUT })
    await expect(resolved).toContainText('not sent')
    expect(received).toHaveLength(1)
  })

  await test.step('the firing and the resolution are markers on the lag chart', async () => {
    await new Nav(page).go('Consumers')
    const legend = page.getByRole('list', { name: 'Chart markers' }).first()
    await expect(legend.getByText('Alert firing: 1')).toBeVisible({ timeout: STEP_TIMEOUT })
    await expect(legend.getByText('Alert resolved: 1')).toBeVisible({ timeout: STEP_TIMEOUT })
  })

  await test.step('deleted, its history stays', async () => {
    await new Nav(page).go('Alerts')
    await page.getByRole('button', { name: 'Delete Consumers gone' }).click()
    await page.getByRole('button', { name: 'Confirm deleting Consumers gone' }).click()
    await expect(alerts.rules).toContainText('No rules yet')
    await expect(alerts.history.getByRole('row').filter({ hasText: 'Consumers gone' })).toHaveCount(2)
  })
})
