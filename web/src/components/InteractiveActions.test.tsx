import { render, screen } from '../test/render'
import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { urlOf } from '../test/fetch'
import { InteractiveActions } from './InteractiveActions'

type Reply = { status: number; body: unknown }

// A stand-in for the server's POST /api/events/create/: records each body
// and answers with the next reply.
function stubServer(replies: Reply[] = []) {
  const bodies: Record<string, unknown>[] = []
  const fetchMock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    expect(urlOf(input)).toBe('/api/events/create/')
    expect(init?.method).toBe('POST')
    expect(new Headers(init?.headers).get('Content-Type')).toBe('application/json')
    bodies.push(JSON.parse(typeof init?.body === 'string' ? init.body : '') as Record<string, unknown>)
    const r = replies.shift() ?? {
      status: 201,
      body: { status: 'accepted', event_id: 'e1', topic: 'user_events', partition: 1, offset: 42, request_id: 'r1' },
    }
    return Promise.resolve(
      new Response(JSON.stringify(r.body), { status: r.status, headers: { 'Content-Type': 'application/json' } }),
    )
  })
  vi.stubGlobal('fetch', fetchMock)
  return bodies
}

const mount = () => render(<InteractiveActions userId="user_ab12" sessionId="sess_1" />)

describe('InteractiveActions', () => {
  beforeEach(() => {
    vi.unstubAllGlobals()
  })

  it.each([
    ['Button 1', { event_type: 'button_click', element_id: 'button_1' }],
    ['Button 2', { event_type: 'button_click', element_id: 'button_2' }],
    ['Button 3', { event_type: 'button_click', element_id: 'button_3' }],
    ['Button 4 (5s delay)', { event_type: 'button_click', element_id: 'button_4', delay_seconds: 5 }],
    ['Button 5 (Failed)', { event_type: 'button_click', element_id: 'button_5', should_fail: true }],
    ['View Home', { event_type: 'page_view', element_id: 'view_home', page: '/home' }],
    ['View Settings', { event_type: 'page_view', element_id: 'view_settings', page: '/settings' }],
    ['Search', { event_type: 'form_submit', element_id: 'search' }],
    ['Logout', { event_type: 'user_logout', element_id: 'logout', properties: { action: 'logout' } }],
  ])('%s posts its event and confirms it', async (name, want) => {
    const bodies = stubServer()
    mount()
    await userEvent.click(screen.getByRole('button', { name }))
    expect(await screen.findByText(/partition 1, offset 42/)).toBeTruthy()
    expect(bodies).toHaveLength(1)
    expect(bodies[0]).toMatchObject({ ...want, user_id: 'user_ab12', session_id: 'sess_1' })
    if (!('delay_seconds' in want)) expect(bodies[0]).not.toHaveProperty('delay_seconds')
    if (!('should_fail' in want)) expect(bodies[0]).not.toHaveProperty('should_fail')
  })

  it('sends a message with Enter and clears the input', async () => {
    const bodies = stubServer()
    mount()
    const send = screen.getByRole<HTMLButtonElement>('button', { name: 'Send Message' })
    expect(send.disabled).toBe(true)
    const input = screen.getByLabelText<HTMLInputElement>('Send a Message')
    await userEvent.type(input, 'hello <b>world</b>{Enter}')
    expect(await screen.findByText(/Message: sent form_submit/)).toBeTruthy()
    expect(bodies).toEqual([
      {
        event_type: 'form_submit',
        element_id: 'message_input',
        page: '/',
        message: 'hello <b>world</b>',
        user_id: 'user_ab12',
        session_id: 'sess_1',
      },
    ])
    expect(input.value).toBe('')
  })

  it.each([
    [400, 'message: is 5000 bytes, over the limit of 4096'],
    [503, 'kafka unavailable: no broker reachable'],
  ])("shows the server's error text on %i", async (status, text) => {
    stubServer([{ status, body: { error: text } }])
    mount()
    await userEvent.click(screen.getByRole('button', { name: 'Button 1' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toContain(`Button 1 failed: ${text}`)
  })

  it('keeps the message when sending fails', async () => {
    stubServer([{ status: 503, body: { error: 'kafka unavailable' } }])
    mount()
    const input = screen.getByLabelText<HTMLInputElement>('Send a Message')
    await userEvent.type(input, 'keep me{Enter}')
    expect((await screen.findByRole('alert')).textContent).toContain('kafka unavailable')
    expect(input.value).toBe('keep me')
  })

  it('shows the pending state while the request is in flight', async () => {
    let release: (r: Response) => void = () => {}
    vi.stubGlobal(
      'fetch',
      vi.fn(
        () =>
          new Promise<Response>((resolve) => {
            release = resolve
          }),
      ),
    )
    mount()
    const button = screen.getByRole<HTMLButtonElement>('button', { name: 'Button 2' })
    await userEvent.click(button)
    expect(button.disabled).toBe(true)
    expect(button.getAttribute('aria-busy')).toBe('true')
    release(
      new Response(
        JSON.stringify({ status: 'accepted', event_id: 'e', topic: 't', partition: 0, offset: 1, request_id: 'r' }),
        { status: 201 },
      ),
    )
    expect(await screen.findByText(/Button 2: sent/)).toBeTruthy()
    expect(button.disabled).toBe(false)
  })
})
