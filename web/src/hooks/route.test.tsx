import { render, screen } from '../test/render'
import { describe, expect, it } from 'vitest'
import { Nav } from '../components/Nav'
import { viewOf } from './route'

describe('routing', () => {
  it('maps hashes to views, unknown ones to the dashboard', () => {
    expect(viewOf('')).toBe('dashboard')
    expect(viewOf('#/')).toBe('dashboard')
    expect(viewOf('#/dlq')).toBe('dlq')
    expect(viewOf('#/consumers/')).toBe('consumers')
    expect(viewOf('#/explorer?x=1')).toBe('explorer')
    expect(viewOf('#/nope')).toBe('dashboard')
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
