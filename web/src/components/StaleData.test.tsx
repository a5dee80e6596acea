import { act, render, screen } from '../test/render'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { clockTime } from '../format'
import { StaleData } from './StaleData'

describe('StaleData', () => {
  const t0 = Date.parse('2026-11-25T14:02:11Z')
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(t0)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('dims the data and says since when it is stale, counting up, until it is fresh', () => {
    const { rerender } = render(
      <StaleData since={null}>
        <p>379 events/s</p>
      </StaleData>,
    )
    expect(screen.queryByRole('status')).toBeNull()
    expect(screen.getByText('379 events/s').parentElement?.getAttribute('aria-describedby')).toBeNull()

    rerender(
      <StaleData since={t0}>
        <p>379 events/s</p>
      </StaleData>,
    )
    expect(screen.getByRole('status').textContent).toBe(`Stale since ${clockTime('2026-11-25T14:02:11Z')}`)
    screen.getByText(/disconnected 0 s ago/)
    const data = screen.getByText('379 events/s').parentElement
    expect(data?.classList.contains('opacity-50')).toBe(true)
    const described = document.getElementById(data?.getAttribute('aria-describedby') ?? '')
    expect(described?.textContent).toMatch(/^Stale since/)

    act(() => {
      vi.advanceTimersByTime(12_000)
    })
    screen.getByText(/disconnected 12 s ago/)
    act(() => {
      vi.advanceTimersByTime(60_000)
    })
    screen.getByText(/disconnected 1 min 12 s ago/)

    rerender(
      <StaleData since={null}>
        <p>379 events/s</p>
      </StaleData>,
    )
    expect(screen.queryByRole('status')).toBeNull()
    expect(screen.getByText('379 events/s').parentElement?.classList.contains('opacity-50')).toBe(false)
  })
})
