import { useMutation, useMutationState } from '@tanstack/react-query'
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { createEvent } from '../api/client'
import { keys } from '../api/queries'
import type { EventInput } from '../api/schema'
import { useAllowed } from '../hooks/role'
import { RoleNote } from './RoleNote'
import { Button, type ButtonTone } from './ui/Button'
import { Card } from './ui/Card'
import { Input, Label } from './ui/Field'

/** What an action adds to the event besides the user and session. */
type ActionEvent = Omit<EventInput, 'user_id' | 'session_id'>

interface Action {
  key: string
  label: string
  tone?: ButtonTone
  event: ActionEvent
}

const FOCUS =
  'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400'

const click = (element_id: string, extra: Partial<ActionEvent> = {}): ActionEvent => ({
  event_type: 'button_click',
  element_id,
  page: '/',
  ...extra,
})

const BUTTONS: Action[] = [
  { key: 'button_1', label: 'Button 1', tone: 'blue', event: click('button_1') },
  { key: 'button_2', label: 'Button 2', tone: 'green', event: click('button_2') },
  { key: 'button_3', label: 'Button 3', tone: 'purple', event: click('button_3') },
  {
    key: 'button_4',
    label: 'Button 4 (5s delay)',
    tone: 'orange',
    event: click('button_4', { delay_seconds: 5 }),
  },
  {
    key: 'button_5',
    label: 'Button 5 (Failed)',
    tone: 'red',
    event: click('button_5', { should_fail: true }),
  },
]

// Logout is its own event type, user_logout, rather than a user_login with
// properties.action = "logout": a custom type is valid, and it shows up as a
// separate line in the statistics and the charts.
const QUICK: Action[] = [
  {
    key: 'view_home',
    label: 'View Home',
    event: { event_type: 'page_view', element_id: 'view_home', page: '/home' },
  },
  {
    key: 'view_settings',
    label: 'View Settings',
    event: { event_type: 'page_view', element_id: 'view_settings', page: '/settings' },
  },
  {
    key: 'search',
    label: 'Search',
    event: { event_type: 'form_submit', element_id: 'search', page: '/' },
  },
  {
    key: 'logout',
    label: 'Logout',
    event: { event_type: 'user_logout', element_id: 'logout', page: '/', properties: { action: 'logout' } },
  },
]

/** What one click sends, and how its toast names it. */
interface Send {
  key: string
  label: string
  event: ActionEvent
}

interface Toast {
  id: number
  kind: 'success' | 'error'
  text: string
}

const MAX_TOASTS = 4

interface Props {
  userId: string
  sessionId: string
}

/** The buttons and form that generate events through POST /api/events/create/. */
export function InteractiveActions({ userId, sessionId }: Props) {
  const [toasts, setToasts] = useState<Toast[]>([])
  const [message, setMessage] = useState('')
  const nextId = useRef(1)
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>())

  useEffect(() => {
    const t = timers.current
    return () => {
      for (const id of t.values()) clearTimeout(id)
      t.clear()
    }
  }, [])

  const dismiss = useCallback((id: number) => {
    const t = timers.current.get(id)
    if (t !== undefined) clearTimeout(t)
    timers.current.delete(id)
    setToasts((ts) => ts.filter((x) => x.id !== id))
  }, [])

  const toast = useCallback(
    (kind: Toast['kind'], text: string) => {
      const id = nextId.current++
      setToasts((ts) => [...ts, { id, kind, text }].slice(-MAX_TOASTS))
      timers.current.set(
        id,
        setTimeout(() => dismiss(id), kind === 'error' ? 8000 : 4000),
      )
    },
    [dismiss],
  )

  // One mutation per click; the keys of those in flight disable their buttons.
  const create = useMutation({
    mutationKey: keys.createEvent,
    mutationFn: (v: Send) => createEvent({ ...v.event, user_id: userId, session_id: sessionId }),
    onSuccess: (res, v) => {
      toast('success', `${v.label}: sent ${v.event.event_type} to partition ${res.partition}, offset ${res.offset}`)
      // The message box empties once its message is sent (not when it fails).
      if (v.key === 'message') setMessage('')
    },
    onError: (err, v) => toast('error', `${v.label} failed: ${err.message}`),
  })
  const pending = useMutationState({
    filters: { mutationKey: keys.createEvent, status: 'pending' },
    select: (m) => (m.state.variables as Send | undefined)?.key,
  })

  const send = (key: string, label: string, event: ActionEvent) => create.mutate({ key, label, event })

  const submitMessage = (e: FormEvent) => {
    e.preventDefault()
    const text = message.trim()
    if (text === '') return
    send('message', 'Message', { event_type: 'form_submit', element_id: 'message_input', page: '/', message: text })
  }

  const busy = (key: string) => pending.includes(key)
  const operate = useAllowed('operator')

  return (
    <Card title="Interactive Actions">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
        Click the buttons below to generate events that will appear in the real-time feed. You are{' '}
        <span className="font-mono">{userId}</span>.
      </p>
      <RoleNote permission={operate} />
      {/* Laid out by the card's width, not the window's: the card is a side column on wide screens. */}
      <div className="@container">
        <div className="grid grid-cols-2 gap-2 @sm:grid-cols-3 @2xl:grid-cols-5">
          {BUTTONS.map((a) => (
            <Button
              key={a.key}
              variant="primary"
              tone={a.tone}
              size="lg"
              className="shadow-sm"
              onClick={() => send(a.key, a.label, a.event)}
              disabled={busy(a.key) || !operate.allowed}
              title={operate.why}
              aria-busy={busy(a.key)}
            >
              {a.label}
            </Button>
          ))}
        </div>
      </div>

      <form className="mt-4" onSubmit={submitMessage}>
        <Label htmlFor="message-input" className="mb-1 block">
          Send a Message
        </Label>
        <div className="flex flex-col gap-2 sm:flex-row">
          <Input
            id="message-input"
            type="text"
            value={message}
            maxLength={4096}
            onChange={(e) => setMessage(e.target.value)}
            placeholder="Type your message here..."
            className="flex-1"
          />
          <Button
            type="submit"
            variant="primary"
            tone="slate"
            size="lg"
            disabled={message.trim() === '' || busy('message') || !operate.allowed}
            title={operate.why}
            aria-busy={busy('message')}
          >
            Send Message
          </Button>
        </div>
      </form>

      <div className="@container mt-4 border-t border-slate-200 pt-3 dark:border-slate-800">
        <h3 className="mb-2 text-xs font-medium text-slate-700 dark:text-slate-300">Quick Actions</h3>
        <div className="grid grid-cols-2 gap-2 @md:grid-cols-4">
          {QUICK.map((a) => (
            <Button
              key={a.key}
              variant="quiet"
              onClick={() => send(a.key, a.label, a.event)}
              disabled={busy(a.key) || !operate.allowed}
              title={operate.why}
              aria-busy={busy(a.key)}
            >
              {a.label}
            </Button>
          ))}
        </div>
      </div>

      {/* Fixed in a corner so feedback never pushes the dashboard around. */}
      <div
        aria-live="polite"
        aria-label="Notifications"
        className="fixed right-4 bottom-4 z-50 flex w-96 max-w-[calc(100vw-2rem)] flex-col gap-2 empty:hidden"
      >
        {toasts.map((t) => (
          <div
            key={t.id}
            role={t.kind === 'error' ? 'alert' : 'status'}
            className={`flex items-start justify-between gap-3 rounded-md border px-3 py-2 text-sm shadow-lg ${
              t.kind === 'error'
                ? 'border-red-200 bg-red-50 text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200'
                : 'border-green-200 bg-green-50 text-green-800 dark:border-green-900 dark:bg-green-950 dark:text-green-200'
            }`}
          >
            <span className="min-w-0 break-words">{t.text}</span>
            <button
              type="button"
              onClick={() => dismiss(t.id)}
              aria-label="Dismiss notification"
              className={`shrink-0 rounded px-1 leading-none opacity-70 hover:opacity-100 ${FOCUS}`}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </Card>
  )
}
