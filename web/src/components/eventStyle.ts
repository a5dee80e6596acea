// One colour and label per event type, used by the feed, the statistics and
// the charts so a type looks the same everywhere.

export interface TypeStyle {
  label: string
  /** Badge classes (light and dark). */
  badge: string
  /** Solid colour for dots, bars and chart lines. */
  color: string
}

const KNOWN: Record<string, TypeStyle> = {
  button_click: {
    label: 'Button Clicks',
    badge: 'bg-green-100 text-green-800 dark:bg-green-900/50 dark:text-green-200',
    color: '#22c55e',
  },
  form_submit: {
    label: 'Form Submissions',
    badge: 'bg-purple-100 text-purple-800 dark:bg-purple-900/50 dark:text-purple-200',
    color: '#a855f7',
  },
  page_view: {
    label: 'Page Views',
    badge: 'bg-blue-100 text-blue-800 dark:bg-blue-900/50 dark:text-blue-200',
    color: '#3b82f6',
  },
  user_login: {
    label: 'User Logins',
    badge: 'bg-amber-100 text-amber-800 dark:bg-amber-900/50 dark:text-amber-200',
    color: '#f59e0b',
  },
  user_logout: {
    label: 'User Logouts',
    badge: 'bg-rose-100 text-rose-800 dark:bg-rose-900/50 dark:text-rose-200',
    color: '#f43f5e',
  },
  api_call: {
    label: 'API Calls',
    badge: 'bg-cyan-100 text-cyan-800 dark:bg-cyan-900/50 dark:text-cyan-200',
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
    badge: 'bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-200',
    color: EXTRA[hash(type) % EXTRA.length],
  }
}

/** The badge text of an event type: BUTTON CLICK. */
export function typeBadge(type: string): string {
  return type.replace(/_/g, ' ').toUpperCase()
}
