import { describe, expect, it } from 'vitest'
import { filterOfParam, filterParam, filterProblem, trendFilter, type FilterDraft } from './Filters'

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
