import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { parseOrigins, scriptTag, SourcesPage } from './SourcesPage'

const shop = {
  id: 'src_shop',
  name: 'shop',
  write_key: 'pk_abc',
  origins: ['https://shop.example'],
  settings: { respect_dnt: false },
  created_at: '2026-12-02T10:00:00Z',
  revoked_at: null,
}
const old = { ...shop, id: 'src_old', name: 'old', write_key: 'pk_old', revoked_at: '2026-12-02T11:00:00Z' }

type SourceRow = Omit<typeof shop, 'settings' | 'revoked_at'> & {
  settings: { respect_dnt: boolean; plan?: string; store_ip?: boolean; retention?: string }
  revoked_at: string | null
}
let list: SourceRow[] = []
let calls: Call[] = []
const tracker = { url_path: '/pulse.js', integrity: 'sha384-XYZ' }

describe('SourcesPage', () => {
  beforeEach(() => {
    window.history.replaceState(null, '', '/#/sources')
    list = [shop, old]
    calls = stubFetch(({ method, url, body }) => {
      if (method === 'GET' && url === '/api/sources/') return json({ sources: list, tracker })
      if (method === 'POST' && url === '/api/sources/') {
        const b = body as { name: string }
        if (b.name === 'shop')
          return json({ error: 'name: a source named "shop" exists (revoked ones keep their names)' }, 409)
        const created = { ...shop, id: 'src_new', name: b.name, write_key: 'pk_new' }
        list = [...list, created]
        return json({ source: created }, 201)
      }
      if (method === 'PATCH' && url === '/api/sources/src_shop/') {
        const b = body as { settings: { plan?: string; store_ip?: boolean; retention?: string } }
        if (b.settings.plan === 'strict') return json({ error: 'this needs the operator role; you have viewer' }, 403)
        if (b.settings.retention === '5m') return json({ error: 'settings.retention: at least 1h, as 36h or 30d' }, 400)
        const settings = { ...list[0].settings, ...b.settings }
        if (settings.retention === '0s') delete settings.retention
        list = [{ ...shop, settings }, old]
        return json({ source: list[0] })
      }
      if (method === 'DELETE' && url === '/api/sources/src_shop/') {
        list = [{ ...shop, revoked_at: '2026-12-02T12:00:00Z' }, old]
        return json({ source: list[0] })
      }
      return json({ error: 'no' }, 404)
    })
  })

  it('lists each source with its key, origins, state and the tag to paste', async () => {
    render(<SourcesPage pollMs={60_000} />)
    const items = within(await screen.findByRole('list', { name: 'Sources' })).getAllByRole('listitem')
    expect(items).toHaveLength(2)
    expect(items[0].textContent).toContain('pk_abc')
    expect(items[0].textContent).toContain('https://shop.example')
    expect(items[0].textContent).toContain('Active')
    expect(screen.getByLabelText('The script tag of shop').textContent).toBe(
      `<script defer src="${window.location.origin}/pulse.js" data-key="pk_abc" integrity="sha384-XYZ" crossorigin="anonymous"></script>`,
    )
    expect(items[1].textContent).toContain('Revoked')
    expect(within(items[1]).queryByText(/<script/)).toBeNull()
  })

  it('says what a source is when there is none', async () => {
    list = []
    render(<SourcesPage pollMs={60_000} />)
    expect(await screen.findByText(/A source is a site or app/)).toBeTruthy()
    expect(screen.getByText(/pulse sources create --name shop/)).toBeTruthy()
  })

  it('creates a source and shows a taken name at the name field', async () => {
    const user = userEvent.setup()
    render(<SourcesPage pollMs={60_000} />)
    await screen.findByRole('list', { name: 'Sources' })
    await user.type(screen.getByLabelText('Name'), 'shop')
    await user.type(screen.getByLabelText('Allowed origins'), 'https://a.example, https://b.example')
    await user.click(screen.getByRole('button', { name: 'Create source' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toContain('a source named "shop" exists')
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('true')
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.body).toEqual({
      name: 'shop',
      origins: ['https://a.example', 'https://b.example'],
      settings: { respect_dnt: false },
    })

    await user.clear(screen.getByLabelText('Name'))
    await user.type(screen.getByLabelText('Name'), 'blog')
    await user.click(screen.getByRole('button', { name: 'Create source' }))
    expect((await screen.findByRole('status')).textContent).toContain('Created blog')
    await waitFor(() => expect(screen.getAllByRole('listitem')).toHaveLength(3))
  })

  it('sets a source’s plan mode, and says why a change was refused', async () => {
    const user = userEvent.setup()
    render(<SourcesPage pollMs={60_000} />)
    await screen.findByRole('list', { name: 'Sources' })
    const select = screen.getByLabelText<HTMLSelectElement>('Tracking plan')
    expect(select.value).toBe('off')
    await user.selectOptions(select, 'warn')
    await waitFor(() => expect(screen.getByText('Plan: warn')).toBeTruthy())
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ settings: { plan: 'warn' } })
    await user.selectOptions(screen.getByLabelText('Tracking plan'), 'strict')
    expect((await screen.findByRole('alert')).textContent).toBe('this needs the operator role; you have viewer')
    await waitFor(() => expect(screen.getByLabelText<HTMLSelectElement>('Tracking plan').value).toBe('warn'))
  })

  it('revokes a source after a confirmation', async () => {
    const user = userEvent.setup()
    render(<SourcesPage pollMs={60_000} />)
    await screen.findByRole('list', { name: 'Sources' })
    await user.click(screen.getByRole('button', { name: 'Revoke…' }))
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    await user.click(screen.getByRole('button', { name: 'Revoke' }))
    await waitFor(() =>
      expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/sources/src_shop/')).toBe(true),
    )
    await waitFor(() => expect(screen.getAllByText('Revoked')).toHaveLength(2))
  })
  it('keeps client IPs only when asked, and a retention of its own', async () => {
    const user = userEvent.setup()
    render(<SourcesPage pollMs={60_000} />)
    await screen.findByRole('list', { name: 'Sources' })
    const privacy = within(screen.getByRole('group', { name: 'Privacy of shop' }))
    const ip = privacy.getByRole('checkbox', { name: /Store the client’s IP address/ })
    expect((ip as HTMLInputElement).checked).toBe(false)
    await user.click(ip)
    await waitFor(() =>
      expect(
        calls.some((c) => c.method === 'PATCH' && JSON.stringify(c.body) === '{"settings":{"store_ip":true}}'),
      ).toBe(true),
    )
    expect(await screen.findByText('Stores IP addresses')).toBeTruthy()

    const keep = privacy.getByLabelText('Keep events for')
    await user.type(keep, '5m')
    await user.click(privacy.getByRole('button', { name: 'Save' }))
    expect((await privacy.findByRole('alert')).textContent).toContain('settings.retention: at least 1h')
    await user.clear(keep)
    await user.type(keep, '30d')
    await user.click(privacy.getByRole('button', { name: 'Save' }))
    expect(await screen.findByText('Kept 30d')).toBeTruthy()
    await user.clear(keep)
    await user.click(privacy.getByRole('button', { name: 'Save' }))
    await waitFor(() =>
      expect(calls.some((c) => JSON.stringify(c.body) === '{"settings":{"retention":"0s"}}')).toBe(true),
    )
    await waitFor(() => expect(screen.queryByText('Kept 30d')).toBeNull())
  })
})

describe('the tag and the origins', () => {
  it('leaves integrity out when the server has no hash', () => {
    expect(scriptTag('https://pulse.example', { url_path: '/p.js', integrity: '' }, 'pk_1')).toBe(
      '<script defer src="https://pulse.example/p.js" data-key="pk_1"></script>',
    )
  })
  it('reads origins one per line or comma separated', () => {
    expect(parseOrigins(' https://a.example,\nhttps://b.example  *.c.example ')).toEqual([
      'https://a.example',
      'https://b.example',
      '*.c.example',
    ])
  })
})
