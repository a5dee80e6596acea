// How long a message's processing took, read from the processing log. The
// server's duration_ms is the final attempt only (a dead-lettered message
// that failed four times in 600 ms has a duration_ms of 1); the whole
// processing runs from the first attempt's start to the end of the last
// one (completed_at: stored, failed or dead-lettered).

import type { Message, Status } from './api/schema'

/** When processing began: the first attempt's start, or started_at when no attempt failed. */
export function firstStart(m: Pick<Message, 'started_at' | 'attempts'>): string | null {
  return m.attempts?.[0]?.started_at ?? m.started_at
}

/** Milliseconds from the first attempt's start to completed_at; null until processing ended. */
export function processingMs(
  m: Pick<Message, 'started_at' | 'completed_at' | 'attempts' | 'duration_ms'>,
): number | null {
  if (!m.completed_at) return null
  const start = firstStart(m)
  const total = start ? Date.parse(m.completed_at) - Date.parse(start) : Number.NaN
  // Clocks to the microsecond may round the total just below the last attempt's own duration.
  return Number.isFinite(total) ? Math.max(total, m.duration_ms) : m.duration_ms
}

/** How the end of processing reads for a status: "Completed", "Dead-lettered", "Failed", or "Ended". */
export function endLabel(status: Status): string {
  switch (status) {
    case 'completed':
      return 'Completed'
    case 'dead_lettered':
      return 'Dead-lettered'
    case 'failed':
      return 'Failed'
    default:
      return 'Ended'
  }
}

/** How a status reads. */
export const STATUS_LABEL: Record<Status, string> = {
  queued: 'Queued',
  processing: 'Processing',
  retrying: 'Retrying',
  completed: 'Completed',
  failed: 'Failed',
  dead_lettered: 'Dead-lettered',
}
