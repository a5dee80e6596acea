import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { PlanEntry } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { exampleText, parseSchema, PlanPage } from './PlanPage'

const signup = {
  event_type: 'signup',
  description: 'An account made',
  schema: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } },
  updated_at: '2026-12-02T10:00:00Z',
}
const shop = {
  id: 'src_shop',
  name: 'shop',
  write_key: 'pk_abc',
  origins: [],
  settings: { respect_dnt: false, plan: 'warn' },
  created_at: '2026-12-02T10:00:00Z',
  revoked_at: null,
}
const warning = {
  source_id: 'src_shop',
  event_type: 'signup',
  problem: '/properties/plan/enum',
  field: 'properties.plan',
  reason: "value must be one of 'free', 'pro'",
  warned: 1234,
  rejected: 0,
  example: { event_type: 'signup', properties: { plan: 'gold' } },
  first_at: '2026-12-02T10:00:00Z',
  last_at: '2026-12-02T11:00:00Z',
}

let entries: PlanEntry[] = []
let warnings: (typeof warning)[] = []
let calls: Call[] = []

describe('PlanPage', () => {
  beforeEach(() => {
    window.history.replaceState(null, '', '/#/plan')
    entries = [signup]
    warnings = [warning]
    calls = stubFetch(({ method, url, body }) => {
      if (method === 'GET' && url === '/api/plan/') return json({ entries })
      if (method === 'GET' && url.startsWith('/api/plan/warnings/'))
        return json({ range: '24h', from: '2026-12-01T11:00:00Z', to: '2026-12-02T11:00:00Z', warnings })
      if (method === 'GET' && url === '/api/sources/')
        return json({ sources: [shop], tracker: { url_path: '/pulse.js', integrity: '' } })
      if (method === 'PUT' && url.startsWith('/api/plan/types/')) {
        const type = decodeURIComponent(url.split('/')[4])
        const b = body as { description: string; schema: unknown }
        if (type === 'Bad') return json({ error: 'Bad: event_type: must match ^[a-z][a-z0-9_]{0,63}$' }, 400)
        if (JSON.stringify(b.schema).includes('strnig'))
          return json({ error: `${type}: schema: is not a valid JSON Schema: at /type: value must be one of` }, 400)
        const entry = {
          event_type: type,
          description: b.description,
          schema: b.schema,
          updated_at: '2026-12-02T12:00:00Z',
        }
        entries = [...entries.filter((e) => e.event_type !== type), entry]
        return json({ entry })
      }
      if (method === 'DELETE' && url === '/api/plan/types/signup/') {
        entries = []
        return json({ deleted: 'signup' })
      }
      return json({ error: 'no' }, 404)
    })
  })

  it('lists the plan with each schema, and the warnings with their example', async () => {
    render(<PlanPage pollMs={60_000} />)
    const items = within(await screen.findByRole('list', { name: 'Event types' })).getAllByRole('listitem')
    expect(items).toHaveLength(1)
    expect(items[0].textContent).toContain('An account made')
    expect(screen.getByLabelText('The schema of signup').textContent).toContain('"enum": [')
    const table = await screen.findByRole('table', { name: 'Ingestion warnings' })
    expect(table.textContent).toContain('shop')
    expect(table.textContent).toContain("properties.plan: value must be one of 'free', 'pro'")
    expect(table.textContent).toContain('1,234')
    expect(table.textContent).toContain('"plan": "gold"')
    expect(screen.getByText(/Held to the plan: shop \(warn\)/)).toBeTruthy()
  })

  it('saves an event type, refusing what is not JSON before sending and showing the server’s reason at its field', async () => {
    const user = userEvent.setup()
    render(<PlanPage pollMs={60_000} />)
    await screen.findByRole('list', { name: 'Event types' })
    const schema = screen.getByLabelText('JSON Schema of the properties')
    await user.type(screen.getByLabelText('Event type'), 'checkout')
    await user.clear(schema)
    await user.type(schema, '{{"type":')
    await user.click(screen.getByRole('button', { name: 'Save event type' }))
    expect((await screen.findByRole('alert')).textContent).toContain('schema: is not JSON')
    expect(schema.getAttribute('aria-invalid')).toBe('true')
    expect(calls.some((c) => c.method === 'PUT')).toBe(false)

    await user.clear(schema)
    await user.type(schema, '{{"type":"strnig"}')
    await user.click(screen.getByRole('button', { name: 'Save event type' }))
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toContain('checkout: schema: is not a valid JSON Schema'),
    )
    expect(schema.getAttribute('aria-invalid')).toBe('true')

    await user.clear(schema)
    await user.type(schema, '{{"type":"object"}')
    await user.type(screen.getByLabelText('Description'), 'Paid')
    await user.click(screen.getByRole('button', { name: 'Save event type' }))
    expect((await screen.findByRole('status')).textContent).toContain('Saved checkout')
    const put = calls.filter((c) => c.method === 'PUT').at(-1)
    expect(put?.url).toBe('/api/plan/types/checkout/')
    expect(put?.body).toEqual({ description: 'Paid', schema: { type: 'object' } })
    await waitFor(() => expect(screen.getAllByRole('listitem')).toHaveLength(2))
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('edits an entry in the form, and removes one after a confirmation', async () => {
    const user = userEvent.setup()
    render(<PlanPage pollMs={60_000} />)
    await screen.findByRole('list', { name: 'Event types' })
    await user.click(screen.getByRole('button', { name: 'Edit signup' }))
    expect(screen.getByLabelText<HTMLInputElement>('Event type').value).toBe('signup')
    expect(screen.getByLabelText<HTMLTextAreaElement>('JSON Schema of the properties').value).toContain('"required"')
    await user.click(screen.getByRole('button', { name: 'Remove signup…' }))
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    await user.click(screen.getByRole('button', { name: 'Remove' }))
    expect(await screen.findByText(/The plan is empty/)).toBeTruthy()
  })

  it('says so when nothing broke the plan', async () => {
    warnings = []
    render(<PlanPage pollMs={60_000} />)
    expect(await screen.findByText(/Nothing broke the plan in the last/)).toBeTruthy()
  })
})

describe('the schema text', () => {
  it('is parsed, or refused with the reason', () => {
    expect(parseSchema('true')).toEqual({ schema: true })
    expect(parseSchema('  ')).toEqual({ error: 'schema: is required (true accepts any properties)' })
    expect('error' in parseSchema('{')).toBe(true)
  })
  it('shows a cut example as the text it is', () => {
    expect(exampleText('{"event_type":"x","properties":{"long":"aaa…')).toBe(
      '{"event_type":"x","properties":{"long":"aaa…',
    )
    expect(exampleText({ a: 1 })).toBe('{\n  "a": 1\n}')
  })
})
