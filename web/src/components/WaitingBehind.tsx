import type { Message } from '../api/schema'

/** 1st, 2nd, 3rd, 4th, 11th, 21st… */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')
  return `${n}${suffix}`
}

/**
 * Why a queued message has not started: an earlier record of the same Kafka
 * key holds it (Button 1 behind Button 4's 5 s delay), per-key order.
 */
export function WaitingBehind({ m }: { m: Message }) {
  const w = m.waiting_behind
  if (m.status !== 'queued' || w === undefined) return null
  const what =
    w.element_id !== '' ? `${w.element_id} (${w.event_type.replace('_', ' ')})` : w.event_type.replace('_', ' ')
  return (
    <p className="mt-1 text-xs text-amber-800 dark:text-amber-200">
      Waiting behind {what} on key <code className="font-mono">{w.key}</code>, {ordinal(w.position)} in line: records of
      one key are processed in order.
    </p>
  )
}
