import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { render, screen, within } from '../test/render'
import { signedIn } from '../test/session'
import { FilterRow, filterOfParam, filterParam, filterProblem, trendFilter, type FilterDraft } from './Filters'

describe('filters in URLs', () => {
  it('reads back what it writes, colons in the value and all', () => {
    const drafts: FilterDraft[] = [
      { field: 'page', op: 'equals', value: '/a:b' },
      { field: 'properties.plan', op: 'in', value: 'pro, team' },
      { field: 'session_id', op: 'is_set', value: '' },
      { field: 'page', op: 'contains', value: '' },
    ]
    for (const d of drafts) expect(filterOfParam(filterParam(d))).toEqual(d)
    expect(filterOfParam('page:like:x')).toBeNull()
    expect(filterOfParam('page')).toBeNull()
  })

  it("gives a trend the values of in as a list, a value's commas and backslashes escaped", () => {
    expect(trendFilter({ field: 'properties.plan', op: 'in', value: 'pro, a\\,b , c\\\\d' })).toBe(
      'properties.plan:in:pro,a\\,b,c\\\\d',
    )
    expect(trendFilter({ field: 'page', op: 'equals', value: 'a,b' })).toBe('page:equals:a,b')
  })

  it('names what keeps a filter from being asked', () => {
    expect(filterProblem({ field: 'properties.a.b', op: 'equals', value: 'x' })).toContain('property key')
    expect(filterProblem({ field: 'page', op: 'contains', value: '' })).toContain('contains')
    expect(filterProblem({ field: 'page', op: 'in', value: ' , ' })).toContain('is one of')
    expect(filterProblem({ field: 'page', op: 'equals', value: '' })).toBeNull()
  })
})

function Row({ start, onDraft }: { start: FilterDraft; onDraft: (f: FilterDraft) => void }) {
  const [f, setF] = useState(start)
  return (
    <FilterRow
      id="f"
      name="Filter 1"
      removeLabel="Remove filter 1"
      filter={f}
      onChange={(next) => {
        setF(next)
        onDraft(next)
      }}
      onRemove={() => {}}
    />
  )
}

const options = (select: HTMLElement) =>
  within(select)
    .getAllByRole('option')
    .map((o) => o.textContent)

describe('FilterRow', () => {
  it('offers only “is set” on a field the reader sees masked', async () => {
    stubFetch(() => json({ fields: ['properties.email', 'session_id', 'user_id'], masked: true }))
    const drafts: FilterDraft[] = []
    const user = userEvent.setup()
    // A filter a link holds keeps its operator (the server refuses it in words); "is set" is offered.
    render(<Row start={{ field: 'properties.email', op: 'equals', value: 'a@b' }} onDraft={(f) => drafts.push(f)} />, {
      as: signedIn('viewer'),
    })
    expect(await screen.findByText(/properties\.email is a personal field/)).toBeTruthy()
    expect(options(screen.getByLabelText('Operator'))).toEqual(['equals', 'is set'])

    await user.selectOptions(screen.getByLabelText('Field'), 'Page')
    expect(options(screen.getByLabelText('Operator'))).toEqual(['equals', 'is not', 'contains', 'is one of', 'is set'])

    await user.selectOptions(screen.getByLabelText('Field'), 'Session')
    await vi.waitFor(() => expect(drafts.at(-1)).toEqual({ field: 'session_id', op: 'is_set', value: '' }))
    expect(options(screen.getByLabelText('Operator'))).toEqual(['is set'])
    expect(screen.queryByLabelText('Value')).toBeNull()
    expect(screen.getByText(/Session is a personal field: filtering by its value needs the admin role/)).toBeTruthy()
  })

  it('keeps every operator for an admin, who is asked nothing', () => {
    const calls = stubFetch(() => json({ fields: ['session_id'], masked: false }))
    render(<Row start={{ field: 'session_id', op: 'equals', value: 's' }} onDraft={() => {}} />, {
      as: signedIn('admin'),
    })
    expect(options(screen.getByLabelText('Operator'))).toHaveLength(5)
    expect(calls).toHaveLength(0)
  })
})
