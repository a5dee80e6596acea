import { describe, expect, it } from 'vitest'
import { message, stats, storedEvent } from '../test/fixtures'
import { parseServerMessage } from './ws'

describe('parseServerMessage', () => {
  const ev = storedEvent({ properties: { a: 1 }, delay_seconds: 5, should_fail: true, message: 'hi' })
  const msg = message({ status: 'retrying', next_retry_at: '2026-11-25T10:00:01Z', error: 'boom' })
  const valid = [
    { type: 'initial_data', events: [ev], stats: stats({ total_events: 1 }), messages: [msg] },
    { type: 'new_event', event: ev },
    { type: 'new_events', events: [ev], dropped: 3 },
    {
      type: 'stats_update',
      stats: stats({ event_types: { button_click: 2 }, top_elements: [{ element_id: 'b', count: 2 }] }),
    },
    { type: 'queue_update', messages: [msg, message({ status: 'completed', completed_at: '2026-11-25T10:00:02Z' })] },
    { type: 'marker', marker: { t: '2026-11-25T10:00:05Z', kind: 'rebalance', detail: 'pulse-2 joined' } },
    {
      type: 'marker',
      marker: { t: '2026-11-25T10:00:06Z', kind: 'commit_stall', detail: 'partition 1: no commit for 10 s' },
    },
    { type: 'marker', marker: { t: '2026-11-25T10:00:07Z', kind: 'dlq_burst', detail: '12 records in 5 s' } },
  ]

  it.each(valid)('accepts $type as text and as a value', (frame) => {
    expect(parseServerMessage(JSON.stringify(frame))).toEqual(frame)
    expect(parseServerMessage(frame)).toEqual(frame)
  })

  const { event_id: _dropped, ...noID } = ev
  const malformed: [string, unknown][] = [
    ['not JSON', '{"type":'],
    ['not an object', '[1,2]'],
    ['null', null],
    ['unknown type', { type: 'hello' }],
    ['no type', { event: ev }],
    ['event without event_id', { type: 'new_event', event: noID }],
    ['event with a numeric user_id', { type: 'new_event', event: { ...ev, user_id: 7 } }],
    ['event with an unknown source', { type: 'new_event', event: { ...ev, source: 'ftp' } }],
    ['properties not an object', { type: 'new_event', event: { ...ev, properties: [1] } }],
    ['negative dropped', { type: 'new_events', events: [ev], dropped: -1 }],
    ['dropped missing', { type: 'new_events', events: [ev] }],
    ['events not an array', { type: 'new_events', events: ev, dropped: 0 }],
    ['stats without queue', { type: 'stats_update', stats: { ...stats(), queue: undefined } }],
    [
      'stats with a non-finite total',
      { type: 'stats_update', stats: stats({ event_types: { a: 1 }, total_events: NaN }) },
    ],
    ['message with an unknown status', { type: 'queue_update', messages: [{ ...msg, status: 'lost' }] }],
    ['message with a numeric started_at', { type: 'queue_update', messages: [{ ...msg, started_at: 5 }] }],
    ['initial_data without messages', { type: 'initial_data', events: [], stats: stats() }],
    ['marker of an unknown kind', { type: 'marker', marker: { t: '2026-11-25T10:00:05Z', kind: 'party', detail: '' } }],
    ['marker without detail', { type: 'marker', marker: { t: '2026-11-25T10:00:05Z', kind: 'rebalance' } }],
    ['marker with a numeric time', { type: 'marker', marker: { t: 5, kind: 'rebalance', detail: '' } }],
    ['marker missing', { type: 'marker' }],
  ]

  it.each(malformed)('rejects %s', (_name, frame) => {
    expect(parseServerMessage(frame)).toBeNull()
  })
})
