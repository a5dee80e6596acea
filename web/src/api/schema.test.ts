import { describe, expect, it } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { message, storedEvent } from '../test/fixtures'
import { getConsumers } from './client'
import type { z } from 'zod'
import {
  consumersHistorySchema,
  consumersViewSchema,
  describeIssues,
  dlqViewSchema,
  eventsPageSchema,
  loadStateSchema,
  messageTimelineSchema,
  replayResultSchema,
} from './schema'

// check parses v with schema: the parsed value, or null when refused.
function check<S extends z.ZodType>(schema: S, v: unknown): z.output<S> | null {
  const r = schema.safeParse(v)
  return r.success ? r.data : null
}
const toConsumersView = (v: unknown) => check(consumersViewSchema, v)
const toConsumersHistory = (v: unknown) => check(consumersHistorySchema, v)
const toDLQView = (v: unknown) => check(dlqViewSchema, v)
const toReplayResult = (v: unknown) => check(replayResultSchema, v)
const toLoadState = (v: unknown) => check(loadStateSchema, v)
const toEventsPage = (v: unknown) => check(eventsPageSchema, v)
const toMessageTimeline = (v: unknown) => check(messageTimelineSchema, v)

const consumers = {
  group: 'g',
  topic: 't',
  state: 'Empty',
  members: null,
  partitions: null,
  total_lag: 0,
  max_lag_seconds: 0,
  freshness_seconds: 0,
  sampled_at: '2026-11-25T10:00:00Z',
}

describe('console schemas', () => {
  it('accept Go null lists as empty and reject malformed members', () => {
    expect(toConsumersView(consumers)).toMatchObject({ members: [], partitions: [] })
    expect(
      toConsumersView({ ...consumers, members: [{ member_id: 'm', client_id: 'c', host: 'h', partitions: [] }] }),
    ).toBeNull()
    expect(toConsumersView({ ...consumers, state: undefined })).toBeNull()
    const span = { range: '1h', interval_seconds: 5, step_seconds: 30, from: 'a', to: 'b' }
    expect(toConsumersHistory({ ...span, points: null, markers: null })).toEqual({
      ...span,
      points: [],
      markers: [],
    })
    expect(toConsumersHistory({ ...span, points: [], markers: [{ t: 'x', kind: 'party', detail: '' }] })).toBeNull()
    expect(toConsumersHistory({ ...span, range: '2h', points: [], markers: [] })).toBeNull()
  })

  it('check DLQ records field by field', () => {
    expect(toDLQView({ total: 0, groups: null })).toEqual({ total: 0, groups: [] })
    expect(toDLQView({ total: 1, groups: [{ kind: 'k', count: 1, records: [{ id: '0:1' }] }] })).toBeNull()
    expect(toReplayResult({ dry_run: true, count: 0, skipped_replayed: 2, records: null })).toEqual({
      dry_run: true,
      count: 0,
      skipped_replayed: 2,
      records: [],
    })
    expect(toReplayResult({ dry_run: 'yes', count: 0, skipped_replayed: 0, records: [] })).toBeNull()
  })

  it('tell idle from a run, and reject a run of an unknown status', () => {
    expect(toLoadState({ status: 'idle' })).toEqual({ status: 'idle' })
    const run = {
      id: 'r',
      status: 'running',
      started_at: 'a',
      ends_at: 'b',
      events_per_second: 1,
      duration_seconds: 1,
      failure_rate: 0,
      delay_rate: 0,
      mix: null,
      target: 1,
      sent: 0,
      acked: 0,
      failed: 0,
      progress: 0,
      current_rate: 0,
    }
    expect(toLoadState(run)).toEqual({ ...run, mix: {} })
    expect(toLoadState({ ...run, status: 'paused' })).toBeNull()
    expect(toLoadState({ ...run, progress: '50%' })).toBeNull()
  })

  it('read an events page, an empty cursor meaning the end', () => {
    const e = storedEvent()
    expect(toEventsPage({ events: [e], next_cursor: 'abc' })).toEqual({ events: [e], next_cursor: 'abc' })
    expect(toEventsPage({ events: null, next_cursor: '' })).toEqual({ events: [], next_cursor: null })
    expect(toEventsPage({ events: [], next_cursor: 5 })).toBeNull()
  })

  it('read a timeline, rejecting an unknown stage or a malformed message', () => {
    const m = message()
    const ok = { message: m, event: null, stages: [{ stage: 'produced', at: '2026-11-25T10:00:00Z' }] }
    expect(toMessageTimeline(ok)).toEqual(ok)
    expect(toMessageTimeline({ ...ok, stages: null })).toEqual({ ...ok, stages: [] })
    expect(toMessageTimeline({ ...ok, stages: [{ stage: 'teleported', at: '2026-11-25T10:00:00Z' }] })).toBeNull()
    expect(toMessageTimeline({ ...ok, message: {} })).toBeNull()
  })

  it('refuse members the Go side does not send', () => {
    expect(toConsumersView({ ...consumers, surprise: 1 })).toBeNull()
  })

  it('name the path of the bad field', () => {
    const r = dlqViewSchema.safeParse({ total: 1, groups: [{ kind: 'k', count: 1, records: [{ id: '0:1' }] }] })
    expect(r.success).toBe(false)
    if (!r.success) expect(describeIssues(r.error)).toMatch(/^groups\[0\]\.records\[0\]\.partition: /)
  })

  it('make the client name the endpoint and the bad field', async () => {
    stubFetch(() => json({ ...consumers, total_lag: 'many' }))
    await expect(getConsumers()).rejects.toThrow(/^unexpected answer from \/api\/consumers\/: total_lag: /)
  })
})
