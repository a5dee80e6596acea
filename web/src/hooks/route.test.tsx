import { act, render, renderHook, screen } from '../test/render'
import { afterEach, describe, expect, it } from 'vitest'
import { Nav } from '../components/Nav'
import { hashOf, paramsOf, patchHash, subpathOf, useRouteParams, viewOf } from './route'

describe('routing', () => {
  afterEach(() => window.history.replaceState(null, '', '/'))

  it('maps hashes to views, unknown ones to the dashboard', () => {
    expect(viewOf('')).toBe('dashboard')
    expect(viewOf('#/')).toBe('dashboard')
    expect(viewOf('#/dlq')).toBe('dlq')
    expect(viewOf('#/consumers/')).toBe('consumers')
    expect(viewOf('#/explorer?x=1')).toBe('explorer')
    expect(viewOf('#/nope')).toBe('dashboard')
  })

  it('keeps a view state in the hash query: sorted, empty values left out, lists repeated', () => {
    expect(hashOf('explorer', { user_id: 'user_ab12', q: '', event_type: 'page_view' })).toBe(
      '#/explorer?event_type=page_view&user_id=user_ab12',
    )
    expect(hashOf('dlq', { kind: ['a b', 'c&d'], record: null })).toBe('#/dlq?kind=a+b&kind=c%26d')
    expect(hashOf('load', {})).toBe('#/load')
    expect(paramsOf('#/dlq?kind=a+b&kind=c%26d').getAll('kind')).toEqual(['a b', 'c&d'])
    expect(paramsOf('#/dlq').toString()).toBe('')
    expect(patchHash('#/explorer?user_id=u&q=x', { q: null, timeline: 'ev-1' })).toBe(
      '#/explorer?timeline=ev-1&user_id=u',
    )
    expect(patchHash('#/', { status: 'failed' })).toBe('#/?status=failed')
  })

  it('keeps the path under a view (the insights pages) when the state changes', () => {
    expect(viewOf('#/insights/funnels?step=a')).toBe('insights')
    expect(subpathOf('#/insights/funnels?step=a')).toBe('funnels')
    expect(subpathOf('#/insights/retention/')).toBe('retention')
    expect(subpathOf('#/insights?range=7d')).toBe('')
    expect(subpathOf('#/nope/funnels')).toBe('')
    expect(hashOf('insights', { period: 'week' }, 'retention')).toBe('#/insights/retention?period=week')
    expect(patchHash('#/insights/funnels?window=1h', { window: null, step: ['b', 'a'] })).toBe(
      '#/insights/funnels?step=b&step=a',
    )
    expect(patchHash('#/insights?range=7d', { range: null })).toBe('#/insights')
  })

  it('follows the URL and writes to it: a push is a history entry, Back undoes it', () => {
    window.history.replaceState(null, '', '/#/explorer?user_id=u1')
    const { result } = renderHook(() => useRouteParams())
    expect(result.current[0].get('user_id')).toBe('u1')
    const before = window.history.length
    act(() => result.current[1]({ user_id: 'u2' }))
    expect(window.location.hash).toBe('#/explorer?user_id=u2')
    expect(result.current[0].get('user_id')).toBe('u2')
    expect(window.history.length).toBe(before + 1)
    act(() => result.current[1]({ user_id: 'u3' }, { replace: true }))
    expect(window.history.length).toBe(before + 1)
    expect(result.current[0].get('user_id')).toBe('u3')
  })

  it('marks the current view with aria-current', () => {
    render(<Nav current="load" />)
    const nav = screen.getByRole('navigation', { name: 'Views' })
    const current = nav.querySelectorAll('[aria-current="page"]')
    expect(current).toHaveLength(1)
    expect(screen.getByRole('link', { name: 'Load runs' }).getAttribute('aria-current')).toBe('page')
    expect(screen.getByRole('link', { name: 'Dead letters' }).getAttribute('href')).toBe('#/dlq')
    expect(screen.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current')).toBeNull()
  })
})
