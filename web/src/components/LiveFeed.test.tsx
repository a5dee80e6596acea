import { fireEvent, render, screen, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { storedEvent } from '../test/fixtures'
import { LiveFeed } from './LiveFeed'

describe('LiveFeed', () => {
  it('shows event fields as text, never as markup', () => {
    const { container } = render(
      <LiveFeed
        events={[storedEvent({ element_id: '<script>alert(1)</script>', user_id: '<img src=x onerror=alert(2)>' })]}
        notShown={0}
      />,
    )
    expect(screen.getByText(/Element: <script>alert\(1\)<\/script>/)).toBeTruthy()
    expect(screen.getByText('<img src=x onerror=alert(2)>')).toBeTruthy()
    expect(container.querySelector('script')).toBeNull()
    expect(container.querySelector('img')).toBeNull()
  })

  it('lists events newest first with type, user and element', () => {
    render(
      <LiveFeed
        events={[
          storedEvent({ id: 2, event_type: 'form_submit', element_id: 'message_input', message: 'hi' }),
          storedEvent({ id: 1, event_type: 'button_click', element_id: 'button_1' }),
        ]}
        notShown={0}
      />,
    )
    const rows = within(screen.getByLabelText('Live events, newest first')).getAllByRole('listitem')
    expect(rows.map((r) => r.textContent)).toEqual([
      expect.stringContaining('FORM SUBMIT'),
      expect.stringContaining('BUTTON CLICK'),
    ])
    expect(rows[0].textContent).toContain('Element: message_input')
    expect(rows[0].textContent).toContain('“hi”')
  })

  it('says how many events are not shown, and why', () => {
    render(<LiveFeed events={[storedEvent()]} notShown={1234} sampled={1000} kept={500} />)
    expect(
      screen.getByText(
        '1,234 not shown: 1,000 sampled out (the server sends at most 50 events per update, newest first); 234 older than the newest 500 kept here. The totals count every event.',
      ),
    ).toBeTruthy()
  })

  it('filters by type, user and text, and keeps the filter in the URL', async () => {
    window.history.replaceState(null, '', '/#/')
    const user = userEvent.setup()
    render(
      <LiveFeed
        events={[
          storedEvent({ id: 3, event_type: 'page_view', user_id: 'user_aa', element_id: 'nav', page: '/checkout' }),
          storedEvent({ id: 2, event_type: 'button_click', user_id: 'user_bb', element_id: 'button_1' }),
          storedEvent({ id: 1, event_type: 'button_click', user_id: 'user_aa', element_id: 'button_2' }),
        ]}
        notShown={0}
      />,
    )
    const rows = () => within(screen.getByLabelText('Live events, newest first')).getAllByRole('listitem')
    await user.selectOptions(screen.getByLabelText('Type'), 'button_click')
    expect(rows().map((r) => r.textContent)).toEqual([
      expect.stringContaining('button_1'),
      expect.stringContaining('button_2'),
    ])
    await user.type(screen.getByLabelText('User'), 'AA')
    expect(rows()).toHaveLength(1)
    expect(screen.getByText('1 of the 3 newest match')).toBeTruthy()
    await user.selectOptions(screen.getByLabelText('Type'), '')
    await user.clear(screen.getByLabelText('User'))
    await user.type(screen.getByLabelText('Text'), 'checkout')
    expect(rows().map((r) => r.textContent)).toEqual([expect.stringContaining('/checkout')])
    expect(new URLSearchParams(window.location.hash.split('?')[1]).get('feed_q')).toBe('checkout')
    await user.clear(screen.getByLabelText('Text'))
    await user.type(screen.getByLabelText('Text'), 'nothing like it')
    expect(screen.getByText('No event matches the filter among the newest ones.')).toBeTruthy()
    window.history.replaceState(null, '', '/#/')
  })

  it('pauses: the list stays, counts what arrived meanwhile, and resumes with it', async () => {
    window.history.replaceState(null, '', '/#/')
    const user = userEvent.setup()
    const first = [storedEvent({ id: 10, element_id: 'old' })]
    const { rerender } = render(<LiveFeed events={first} notShown={0} />)
    await user.click(screen.getByRole('button', { name: 'Pause' }))
    const later = [storedEvent({ id: 12, element_id: 'new_b' }), storedEvent({ id: 11, element_id: 'new_a' }), ...first]
    rerender(<LiveFeed events={later} notShown={0} />)
    const rows = () => within(screen.getByLabelText('Live events, newest first')).getAllByRole('listitem')
    expect(rows()).toHaveLength(1)
    expect(screen.getByText('Paused: 2 new since')).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe('true')
    await user.click(screen.getByRole('button', { name: 'Resume' }))
    expect(rows()).toHaveLength(3)
  })

  it('offers to jump back when new events arrive while scrolled away', () => {
    const events = Array.from({ length: 20 }, (_, i) => storedEvent({ id: 100 - i }))
    const { rerender } = render(<LiveFeed events={events} notShown={0} />)
    const list = screen.getByLabelText('Live events, newest first')
    list.scrollTop = 300
    fireEvent.scroll(list)
    rerender(<LiveFeed events={[storedEvent({ id: 200 }), storedEvent({ id: 201 }), ...events]} notShown={0} />)
    const jump = screen.getByRole('button', { name: '2 new ↑' })
    expect(list.scrollTop).toBe(300 + 2 * 76)
    fireEvent.click(jump)
    expect(list.scrollTop).toBe(0)
    expect(screen.queryByRole('button', { name: /new ↑/ })).toBeNull()
  })

  it('starts from the top when a resync replaces the list', () => {
    const events = Array.from({ length: 20 }, (_, i) => storedEvent({ id: 100 - i }))
    const { rerender } = render(<LiveFeed events={events} notShown={0} />)
    const list = screen.getByLabelText('Live events, newest first')
    list.scrollTop = 300
    fireEvent.scroll(list)
    rerender(<LiveFeed events={[storedEvent({ id: 300 }), storedEvent({ id: 299 })]} notShown={0} />)
    expect(list.scrollTop).toBe(0)
    expect(screen.queryByRole('button', { name: /new ↑/ })).toBeNull()
  })
})

describe('LiveFeed timeline', () => {
  it('opens the timeline of a row with one click', () => {
    const opened: string[] = []
    render(
      <LiveFeed
        events={[storedEvent({ id: 7, event_id: 'ev-7', element_id: 'button_1' })]}
        notShown={0}
        onOpenTimeline={(id) => opened.push(id)}
      />,
    )
    fireEvent.click(screen.getByRole('button', { name: 'Timeline of button_click on button_1' }))
    expect(opened).toEqual(['ev-7'])
  })
})

describe('LiveFeed keyboard', () => {
  it('is one tab stop: arrows move the active row, Enter opens its timeline', async () => {
    const opened: string[] = []
    const events = Array.from({ length: 50 }, (_, i) => storedEvent({ id: 100 - i, event_id: `ev-${100 - i}` }))
    render(
      <>
        <button type="button">before</button>
        <LiveFeed events={events} notShown={0} onOpenTimeline={(id) => opened.push(id)} />
        <button type="button">after</button>
      </>,
    )
    const user = userEvent.setup()
    // From the last filter field, one Tab reaches the list.
    await user.click(screen.getByLabelText('Text'))
    await user.tab()
    const list = screen.getByRole('group', { name: 'Live events, newest first' })
    expect(document.activeElement).toBe(list)
    // The rows' buttons are not tab stops: the next Tab leaves the feed.
    await user.tab()
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'after' }))

    list.focus()
    const activeText = () => document.getElementById(list.getAttribute('aria-activedescendant') ?? '')?.textContent
    expect(activeText()).toContain('Element: button_1')
    await user.keyboard('{ArrowDown}{ArrowDown}')
    expect(list.getAttribute('aria-activedescendant')).toMatch(/-2$/)
    await user.keyboard('{Enter}')
    expect(opened).toEqual(['ev-98'])
    await user.keyboard('{ArrowUp}{Enter}')
    expect(opened).toEqual(['ev-98', 'ev-99'])
    await user.keyboard('{Home}{Enter}')
    expect(opened.at(-1)).toBe('ev-100')
  })
})
