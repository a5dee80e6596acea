import { fireEvent, render, screen, within } from '../test/render'
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
