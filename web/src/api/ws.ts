// The WebSocket protocol of /ws/events/: frames are checked on arrival
// against serverMessageSchema (./schema), so nothing malformed reaches the
// UI state.

import { serverMessageSchema, type ServerMessage } from './schema'

export type { ClientMessage, ServerMessage } from './schema'

/**
 * Checks a frame's shape and returns it typed, or null when it is not a
 * well-formed ServerMessage. data may be the raw text of the frame or an
 * already parsed value.
 */
export function parseServerMessage(data: unknown): ServerMessage | null {
  let v = data
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch {
      return null
    }
  }
  const r = serverMessageSchema.safeParse(v)
  return r.success ? r.data : null
}
