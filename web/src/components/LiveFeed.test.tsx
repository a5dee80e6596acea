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

  it('says how many events are not shown', () => {
    render(<LiveFeed events={[storedEvent()]} notShown={1234} />)
    expect(screen.getByText('1,234 not shown')).toBeTruthy()
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
    await user.click(screen.getByRole('button', { name: 'before' }))
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
