import { afterEach, describe, expect, it, vi } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { eraseUser, getErased, getPersonalFields, isMasked, personalFieldProblem, putPersonalFields } from './privacy'
import { erasedPageSchema, eraseResultSchema, personalFieldsSchema } from './schema'

afterEach(() => vi.unstubAllGlobals())

describe('privacy schemas', () => {
  it('read the fields with masked, and a null list as empty', () => {
    expect(personalFieldsSchema.parse({ fields: ['session_id', 'user_id'], masked: true })).toEqual({
      fields: ['session_id', 'user_id'],
      masked: true,
    })
    expect(personalFieldsSchema.parse({ fields: null, masked: false }).fields).toEqual([])
    expect(personalFieldsSchema.safeParse({ fields: [] }).success).toBe(false)
  })

  it('read an erasure and a page of erased users', () => {
    const r = { user_hash: 'ab'.repeat(32), events: 3, messages: 4, already: false, linked: [] }
    expect(eraseResultSchema.parse(r)).toEqual(r)
    const page = {
      erased: [
        { user_hash: 'ab'.repeat(32), erased_at: '2026-12-01T10:00:00Z', erased_by: 'a@x', events: 1, messages: 2 },
      ],
      next_before: null,
    }
    expect(erasedPageSchema.parse(page)).toEqual(page)
    expect(erasedPageSchema.parse({ erased: null, next_before: '2026-12-01T10:00:00Z' }).erased).toEqual([])
  })
})

describe('personal fields', () => {
  it('tell a pseudonym from a value', () => {
    expect(isMasked('masked-3f9a1c02b7d4')).toBe(true)
    expect(isMasked('masked-3f9a1c02b7d4:click')).toBe(true)
    expect(isMasked('user_ab12')).toBe(false)
    expect(isMasked('')).toBe(false)
  })

  it('check a field by the server’s rule', () => {
    for (const ok of ['user_id', 'session_id', 'anonymous_id', 'properties.email', 'properties.address.city']) {
      expect(personalFieldProblem(ok)).toBeNull()
    }
    expect(personalFieldProblem('email')).toMatch(/properties\.<key>/)
    expect(personalFieldProblem('properties.')).toMatch(/empty key/)
    expect(personalFieldProblem('properties.a..b')).toMatch(/empty key/)
    expect(personalFieldProblem(`properties.${'x'.repeat(200)}`)).toMatch(/200 bytes/)
  })

  it('are read, written, erased and listed at their paths', async () => {
    const calls = stubFetch((c) => {
      if (c.url.startsWith('/api/privacy/fields/')) return json({ fields: ['user_id'], masked: c.method === 'GET' })
      if (c.url === '/api/privacy/erase/')
        return json({ user_hash: 'ff', events: 1, messages: 1, already: true, linked: [] })
      return json({ erased: [], next_before: null })
    })
    expect(await getPersonalFields()).toEqual({ fields: ['user_id'], masked: true })
    expect(await putPersonalFields(['user_id'])).toEqual({ fields: ['user_id'], masked: false })
    expect((await eraseUser('u 1')).already).toBe(true)
    await getErased('2026-12-01T10:00:00Z')
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', '/api/privacy/fields/', undefined],
      ['PUT', '/api/privacy/fields/', { fields: ['user_id'] }],
      ['POST', '/api/privacy/erase/', { user_id: 'u 1' }],
      ['GET', '/api/privacy/erased/?limit=50&before=2026-12-01T10%3A00%3A00Z', undefined],
    ])
  })
})
