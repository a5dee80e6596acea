// Sessions as GET /api/auth/me/ answers them, and a WebSocket that never
// connects, for tests that render the whole app (Root).
import { vi } from 'vitest'
import type { Account, Role, Whoami } from '../api/schema'

export function account(over: Partial<Account> = {}): Account {
  return {
    id: 'acc_1',
    email: 'op@example.com',
    role: 'operator',
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    last_sign_in_at: null,
    ...over,
  }
}

/** A signed-in session of an account with role. */
export function signedIn(role: Role = 'operator', email = `${role}@example.com`): Whoami {
  return { kind: 'session', role, account: account({ email, role }), csrf_token: `csrf-${role}` }
}

/** A loopback server with no account: everyone is admin. */
export const open: Whoami = { kind: 'open', role: 'admin', account: null, csrf_token: 'csrf-open' }

/** Replaces the global WebSocket with one that never connects; returns the URLs of those made (live array). */
export function stubWebSocket(): string[] {
  const made: string[] = []
  class NeverOpens {
    onopen = null
    onmessage = null
    onclose = null
    onerror = null
    readyState = 0
    constructor(url: string) {
      made.push(url)
    }
    send() {}
    close() {
      this.readyState = 3
    }
  }
  vi.stubGlobal('WebSocket', NeverOpens)
  return made
}
