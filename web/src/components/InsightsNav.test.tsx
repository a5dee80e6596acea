import { describe, expect, it } from 'vitest'
import { render, screen, within } from '../test/render'
import { InsightsNav, insightsPathOf } from './InsightsNav'

describe('InsightsNav', () => {
  it('links the Insights pages, the current one marked', () => {
    render(<InsightsNav current="funnels" />)
    const nav = screen.getByRole('navigation', { name: 'Insights' })
    const links = within(nav).getAllByRole('link')
    expect(links.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('aria-current')])).toEqual([
      ['Trends', '#/insights', null],
      ['Funnels', '#/insights/funnels', 'page'],
      ['Retention', '#/insights/retention', null],
      ['Live', '#/insights/live', null],
      ['Saved', '#/insights/saved', null],
    ])
    expect(insightsPathOf('retention')).toBe('retention')
    expect(insightsPathOf('nope')).toBe('')
  })
})
