// Personal fields and the erasure of a user (docs/accounts.md#personal-fields):
// which fields are masked for readers below admin, and the admin's calls
// that change them, erase a user and list the erased.

import { parse, request, send } from './http'
import {
  erasedPageSchema,
  eraseResultSchema,
  personalFieldsSchema,
  type ErasedPage,
  type EraseResult,
  type PersonalFields,
} from './schema'

/** The prefix of every pseudonym the server writes in place of a personal value. */
export const MASKED_PREFIX = 'masked-'

/** Whether v is a pseudonym (or a record key starting with one), not a real value. */
export function isMasked(v: string): boolean {
  return v.startsWith(MASKED_PREFIX)
}

/** The most fields that may be declared personal. */
export const MAX_PERSONAL_FIELDS = 50

const PROPERTY_PATH = /^properties\.[^.]+(\.[^.]+)*$/

/**
 * What the server would refuse in a personal field, in words, or null: it is
 * user_id, session_id, anonymous_id or properties.<key>[.<key>...], at most
 * 200 bytes (internal/privacy ParseFields).
 */
export function personalFieldProblem(field: string): string | null {
  if (field === 'user_id' || field === 'session_id' || field === 'anonymous_id') return null
  if (new TextEncoder().encode(field).length > 200) return 'longer than 200 bytes'
  if (!field.startsWith('properties.')) return 'must be user_id, session_id, anonymous_id or properties.<key>'
  if (!PROPERTY_PATH.test(field)) return 'a property path has no empty key'
  return null
}

/** GET /api/privacy/fields/: the personal fields, and whether this reader sees them masked. */
export async function getPersonalFields(signal?: AbortSignal): Promise<PersonalFields> {
  const path = '/api/privacy/fields/'
  return parse(personalFieldsSchema, path, await request(path, { signal }))
}

/** PUT /api/privacy/fields/: declares the personal fields; 400 names a bad entry. Admin. */
export async function putPersonalFields(fields: readonly string[]): Promise<PersonalFields> {
  const path = '/api/privacy/fields/'
  return parse(personalFieldsSchema, path, await send(path, 'PUT', { fields }))
}

/**
 * POST /api/privacy/erase/: deletes a user's events, processing log and
 * aggregates and puts them on the suppression list, so their records that
 * come again are dead-lettered. Irreversible. Admin.
 */
export async function eraseUser(userId: string): Promise<EraseResult> {
  const path = '/api/privacy/erase/'
  return parse(eraseResultSchema, path, await send(path, 'POST', { user_id: userId }))
}

/** GET /api/privacy/erased/: a page of erased users, newest first, erased before before when given. Admin. */
export async function getErased(before: string | null, signal?: AbortSignal): Promise<ErasedPage> {
  const p = new URLSearchParams({ limit: '50' })
  if (before !== null) p.set('before', before)
  const path = `/api/privacy/erased/?${p.toString()}`
  return parse(erasedPageSchema, path, await request(path, { signal }))
}
