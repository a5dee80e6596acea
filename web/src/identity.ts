// The dashboard's own user: a stable per-browser user id and a per-tab
// session id, so the events a person generates are recognisable in the feed.

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes)
  crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

function remembered(storage: Storage | undefined, key: string, make: () => string): string {
  try {
    const v = storage?.getItem(key)
    if (v && /^[A-Za-z0-9_-]{1,64}$/.test(v)) return v
    const fresh = make()
    storage?.setItem(key, fresh)
    return fresh
  } catch {
    // Storage can be disabled (private mode, policies): an id per page load
    // still works, it just does not survive a reload.
    return make()
  }
}

function storageOf(kind: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    return typeof window === 'undefined' ? undefined : window[kind]
  } catch {
    return undefined
  }
}

/** Returns this browser's user id, such as user_ab12. */
export function userId(): string {
  return remembered(storageOf('localStorage'), 'pulse.user_id', () => `user_${randomHex(2)}`)
}

/** Returns this tab's session id. */
export function sessionId(): string {
  return remembered(storageOf('sessionStorage'), 'pulse.session_id', () => `sess_${randomHex(6)}`)
}
