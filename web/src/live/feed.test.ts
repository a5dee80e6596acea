import { describe, expect, it } from 'vitest'
import { message, stats, storedEvent } from '../test/fixtures'
import { applyFrames, EMPTY_FEED, messageKey } from './feed'

describe('applyFrames', () => {
  it('replaces everything on initial_data and orders events newest first', () => {
    const before = applyFrames(EMPTY_FEED, [{ type: 'new_events', events: [storedEvent({ id: 1 })], dropped: 4 }])
    expect(before.notShown).toBe(4)
    expect(before.sampled).toBe(4)
    const a = storedEvent({ id: 10 })
    const b = storedEvent({ id: 11 })
    const after = applyFrames(before, [
      { type: 'initial_data', events: [a, b], stats: stats({ total_events: 2 }), messages: [message()] },
    ])
    expect(after.events.map((e) => e.id)).toEqual([11, 10])
    expect(after.notShown).toBe(0)
    expect(after.sampled).toBe(0)
    expect(after.stats?.total_events).toBe(2)
    expect(after.messages.size).toBe(1)
    expect(after.resyncs).toBe(1)
  })

  it('prepends new events once each and counts what it trims', () => {
    const first = storedEvent({ id: 1 })
    let s = applyFrames(EMPTY_FEED, [{ type: 'new_event', event: first }], { events: 3, messages: 10, markers: 10 })
    s = applyFrames(
      s,
      [
        { type: 'new_event', event: first },
        {
          type: 'new_events',
          events: [storedEvent({ id: 3 }), storedEvent({ id: 2 }), storedEvent({ id: 4 })],
          dropped: 5,
        },
      ],
      { events: 3, messages: 10, markers: 10 },
    )
    expect(s.events.map((e) => e.id)).toEqual([4, 3, 2])
    // 5 sampled away by the server, 1 trimmed here beyond the 3 kept.
    expect(s.notShown).toBe(5 + 1)
    expect(s.sampled).toBe(5)
  })

  it('keeps the latest state of each message and evicts finished ones first', () => {
    const inFlight = message({ offset: 1, status: 'processing' })
    const done = message({ offset: 2, status: 'completed' })
    let s = applyFrames(EMPTY_FEED, [{ type: 'queue_update', messages: [inFlight, done] }], {
      events: 10,
      messages: 2,
      markers: 10,
    })
    s = applyFrames(s, [{ type: 'queue_update', messages: [message({ offset: 3, status: 'queued' })] }], {
      events: 10,
      messages: 2,
      markers: 10,
    })
    expect([...s.messages.keys()]).toEqual([messageKey(inFlight), 'user_events/0/3'])
    // Two updates in one batch: only the latest renders, but both are remembered.
    s = applyFrames(s, [
      { type: 'queue_update', messages: [{ ...inFlight, status: 'retrying', retries: 1 }] },
      { type: 'queue_update', messages: [{ ...inFlight, status: 'processing', retries: 1 }] },
      { type: 'queue_update', messages: [{ ...inFlight, status: 'dead_lettered', retries: 3 }] },
    ])
    const m = s.messages.get(messageKey(inFlight))
    expect(m?.status).toBe('dead_lettered')
    expect(m?.seen).toEqual(['processing', 'retrying', 'dead_lettered'])
  })

  it('keeps the newest markers across resyncs, at most limits.markers', () => {
    const mk = (i: number) => ({ t: `2026-11-25T10:00:0${i}Z`, kind: 'rebalance' as const, detail: `m${i}` })
    let s = applyFrames(
      EMPTY_FEED,
      [1, 2, 3].map((i) => ({ type: 'marker' as const, marker: mk(i) })),
      {
        events: 10,
        messages: 10,
        markers: 2,
      },
    )
    expect(s.markers.map((m) => m.detail)).toEqual(['m2', 'm3'])
    s = applyFrames(s, [{ type: 'initial_data', events: [], stats: stats(), messages: [] }])
    expect(s.markers.map((m) => m.detail)).toEqual(['m2', 'm3'])
  })
})
