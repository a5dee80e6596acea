import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, within } from '../test/render'
import { AuditPage } from './AuditPage'

function entry(over: Partial<AuditEntry>): AuditEntry {
  return {
    id: 1,
    at: '2026-12-04T10:00:00Z',
    actor: 'ada@example.com',
    account_id: 'acc_ada',
    client_ip: '192.0.2.1',
    action: 'POST /api/load/',
    target: '',
    outcome: 'ok',
    status: 201,
    detail: '',
    request_id: 'r1',
    ...over,
  }
}

let calls: Call[]
let answer: (url: URL) => Response

beforeEach(() => {
  window.history.replaceState(null, '', '/#/audit')
  answer = (url) =>
    url.searchParams.has('before')
      ? json({
          entries: [entry({ id: 1, actor: 'cli root', action: 'pulse users add', status: 0 })],
          next_before: null,
        })
      : json({
          entries: [
            entry({
              id: 3,
              actor: 'mallory@example.com',
              action: 'POST /api/auth/login/',
              outcome: 'refused',
              status: 401,
              detail: 'wrong email or password',
            }),
            entry({ id: 2 }),
          ],
          next_before: 2,
        })
  calls = stubFetch(({ url }) => {
    const u = new URL(url, 'http://pulse.test')
    if (u.pathname === '/api/audit/') return answer(u)
    return json({ error: 'not here' }, 404)
  })
})

describe('AuditPage', () => {
  it('lists the entries, newest first, with the refusal and its reason, and pages back', async () => {
    const user = userEvent.setup()
    render(<AuditPage />)
    const table = await screen.findByRole('table', { name: 'Audit log entries, newest first' })
    const rows = within(table).getAllByRole('row')
    expect(rows[1].textContent).toContain('mallory@example.com')
    expect(rows[1].textContent).toContain('refused 401')
    expect(rows[1].textContent).toContain('wrong email or password')
    await user.click(screen.getByRole('button', { name: 'Load older' }))
    expect(await within(table).findByText('pulse users add')).toBeTruthy()
    expect(calls.some((c) => c.url.includes('before=2'))).toBe(true)
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull()
  })

  it('keeps the filters in the URL, asks with them, and exports with them', async () => {
    const user = userEvent.setup()
    render(<AuditPage />)
    await screen.findByRole('table')
    await user.selectOptions(screen.getByLabelText('Outcome'), 'refused')
    await user.type(screen.getByLabelText('Text'), 'mallory')
    await user.click(screen.getByRole('button', { name: 'Search' }))
    expect(window.location.hash).toContain('outcome=refused')
    expect(window.location.hash).toContain('q=mallory')
    const last = calls.filter((c) => c.url.startsWith('/api/audit/')).at(-1)
    expect(last?.url).toContain('outcome=refused')
    expect(last?.url).toContain('q=mallory')
    const csv = screen.getByRole('link', { name: 'Export CSV' })
    expect(csv.getAttribute('href')).toBe('/api/audit/export/?q=mallory&outcome=refused&format=csv')
    expect(screen.getByRole('link', { name: 'Export NDJSON' }).getAttribute('href')).toContain('format=ndjson')
  })

  it('shows the server’s refusal in its words', async () => {
    answer = () => json({ error: 'this needs the admin role; you have viewer' }, 403)
    render(<AuditPage />)
    expect(await screen.findByText(/this needs the admin role; you have viewer/)).toBeTruthy()
  })
})
