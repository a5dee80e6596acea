// One colour and label per event type, used by the feed, the statistics and
// the charts so a type looks the same everywhere.

import type { BadgeTone } from './ui/Badge'

export interface TypeStyle {
  label: string
  /** The colour of its badge. */
  badge: BadgeTone
  /** Solid colour for dots, bars and chart lines. */
  color: string
}

const KNOWN: Record<string, TypeStyle> = {
  button_click: {
    label: 'Button Clicks',
    badge: 'green',
    color: '#22c55e',
  },
  form_submit: {
    label: 'Form Submissions',
    badge: 'violet',
    color: '#a855f7',
  },
  page_view: {
    label: 'Page Views',
    badge: 'blue',
    color: '#3b82f6',
  },
  user_login: {
    label: 'User Logins',
    badge: 'amber',
    color: '#f59e0b',
  },
  user_logout: {
    label: 'User Logouts',
    badge: 'rose',
    color: '#f43f5e',
  },
  api_call: {
    label: 'API Calls',
    badge: 'cyan',
    color: '#06b6d4',
  },
}

// Custom types cycle through colours not used by the known ones.
const EXTRA = ['#64748b', '#84cc16', '#ec4899', '#14b8a6', '#eab308', '#6366f1']

function hash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0
  return Math.abs(h)
}

/** Returns how to show an event type. */
export function typeStyle(type: string): TypeStyle {
  const known = KNOWN[type]
  if (known) return known
  return {
    label: type.replace(/_/g, ' '),
    badge: 'slate',
    color: EXTRA[hash(type) % EXTRA.length],
  }
}

/** The badge text of an event type: BUTTON CLICK. */
export function typeBadge(type: string): string {
  return type.replace(/_/g, ' ').toUpperCase()
}
