import { describe, expect, it } from 'vitest'
import { render, screen } from '../test/render'
import { MaskedValue } from './MaskedValue'
import { UserLink } from './UserLink'

describe('UserLink', () => {
  it('links a user id to the user’s page', () => {
    render(<UserLink userId="user_ab12" />)
    expect(screen.getByRole('link', { name: 'user_ab12' }).getAttribute('href')).toBe('#/users/user_ab12')
  })

  it('shows a masked id as plain text with its cue, never a link', () => {
    render(<UserLink userId="masked-3f9a1c02b7d4" />)
    expect(screen.queryByRole('link')).toBeNull()
    const cue = screen.getByTitle('masked: a personal field')
    expect(cue.textContent).toBe('masked-3f9a1c02b7d4 (masked: a personal field)')
  })
})

describe('MaskedValue', () => {
  it('shows a value as it is, an empty one as the fallback', () => {
    const { container, rerender } = render(<MaskedValue value="s-1" />)
    expect(container.textContent).toBe('s-1')
    expect(screen.queryByTitle('masked: a personal field')).toBeNull()
    rerender(<MaskedValue value="" />)
    expect(container.textContent).toBe('—')
  })

  it('cues a masked record key', () => {
    render(<MaskedValue value="masked-3f9a1c02b7d4:page_view" />)
    expect(screen.getByTitle('masked: a personal field').textContent).toContain('masked-3f9a1c02b7d4:page_view')
  })
})
