import { useEffect, useEffectEvent, useId, useRef, type ReactNode } from 'react'
import { Button } from './Button'

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])'

interface Props {
  title: string
  /** A line under the title (an id). */
  subtitle?: ReactNode
  onClose: () => void
  children: ReactNode
}

/**
 * A modal drawer from the right edge. Focus moves to Close on opening, Tab
 * stays inside, Esc or a click on the backdrop closes it, and focus returns
 * to where it was (the button that opened it).
 */
export function Dialog({ title, subtitle, onClose, children }: Props) {
  const titleId = useId()
  const box = useRef<HTMLDivElement>(null)
  const closeRef = useRef<HTMLButtonElement>(null)
  // The newest onClose, for the key handler installed once on opening.
  const close = useEffectEvent(onClose)

  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null
    closeRef.current?.focus()
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault()
        close()
        return
      }
      if (e.key !== 'Tab' || box.current === null) return
      const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)]
      if (items.length === 0) return
      const first = items[0]
      const last = items[items.length - 1]
      const inside = box.current.contains(document.activeElement)
      if (e.shiftKey && (document.activeElement === first || !inside)) {
        e.preventDefault()
        last.focus()
      } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
        e.preventDefault()
        first.focus()
      }
    }
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('keydown', onKey)
      if (previous?.isConnected) previous.focus()
    }
  }, [])

  return (
    <div
      className="fixed inset-0 z-50 flex justify-end bg-slate-950/50"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onClose()
      }}
    >
      <div
        ref={box}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        className="flex h-full w-full max-w-md flex-col overflow-y-auto bg-white p-5 shadow-xl sm:max-w-lg dark:bg-slate-900"
      >
        <div className="mb-4 flex items-start justify-between gap-2">
          <div className="min-w-0">
            <h2 id={titleId} className="text-base font-semibold">
              {title}
            </h2>
            {subtitle && <p className="truncate font-mono text-xs text-slate-600 dark:text-slate-400">{subtitle}</p>}
          </div>
          <Button ref={closeRef} onClick={onClose}>
            Close
          </Button>
        </div>
        {children}
      </div>
    </div>
  )
}
