import userEvent from '@testing-library/user-event'
import { render, screen, within } from '../test/render'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { consumersView } from '../test/fixtures'
import { ConsumerGroup } from './ConsumerGroup'

describe('ConsumerGroup', () => {
  beforeEach(() => vi.unstubAllGlobals())

  it('shows the members, then the lag per partition on its tab, from /api/consumers/', async () => {
    const calls = stubFetch(() => json(consumersView))
    render(<ConsumerGroup pollMs={60_000} />)
    const members = await screen.findByRole('table', { name: 'Members' })
    expect(calls[0].url).toBe('/api/consumers/')
    const rows = within(members).getAllByRole('row')
    expect(rows[1].textContent).toContain('pulse-1')
    expect(rows[1].textContent).toContain('0, 1')
    expect(rows[1].textContent).toContain('1,250')
    expect(rows[2].textContent).toContain('remote')
    expect(screen.getByText(/dashboard_consumer_group on user_events/).textContent).toContain('total lag 7')
    expect(screen.queryByRole('table', { name: 'Partitions' })).toBeNull()

    // The tab list is one tab stop; the arrow key moves to the next tab and shows its table.
    const tab = screen.getByRole('tab', { name: /^Members/ })
    expect(tab.getAttribute('aria-selected')).toBe('true')
    tab.focus()
    await userEvent.keyboard('{ArrowRight}')
    const lagTab = screen.getByRole('tab', { name: /^Lag per partition/ })
    expect(lagTab.getAttribute('aria-selected')).toBe('true')
    expect(document.activeElement).toBe(lagTab)
    const lag = within(screen.getByRole('table', { name: 'Partitions' })).getAllByRole('row')
    expect(lag[1].textContent).toContain('pulse-1')
    expect(screen.queryByRole('table', { name: 'Members' })).toBeNull()
  })

  it("shows the server's error", async () => {
    stubFetch(() => json({ error: 'kafka: group coordinator not available' }, 503))
    render(<ConsumerGroup pollMs={60_000} />)
    expect((await screen.findByRole('alert')).textContent).toContain('kafka: group coordinator not available')
  })
})
