import { useState } from 'react'

const KEY = 'pulse.instructions.closed'

function initiallyOpen(): boolean {
  try {
    return window.localStorage.getItem(KEY) !== '1'
  } catch {
    return true
  }
}

/** A short explainer, open on the first visit and remembered once closed. */
export function Instructions() {
  const [open, setOpen] = useState(initiallyOpen)
  const toggle = () => {
    const next = !open
    setOpen(next)
    try {
      window.localStorage.setItem(KEY, next ? '0' : '1')
    } catch {
      // Not remembering is fine: the panel just opens again next time.
    }
  }
  return (
    <section className="rounded-lg border border-blue-200 bg-blue-50 p-4 text-blue-900 sm:p-5 dark:border-blue-900 dark:bg-blue-950/40 dark:text-blue-100">
      <h2>
        <button
          type="button"
          aria-expanded={open}
          aria-controls="instructions-body"
          onClick={toggle}
          className="flex w-full items-center justify-between gap-2 text-left text-base font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400"
        >
          Interactive Dashboard Instructions
          <span aria-hidden="true">{open ? '−' : '+'}</span>
        </button>
      </h2>
      <ol id="instructions-body" hidden={!open} className="mt-3 list-inside list-decimal space-y-1 text-sm">
        <li>
          Use the <strong>Interactive Actions</strong> panel above to generate events: each goes through Kafka, a
          consumer group and the database before it shows up here.
        </li>
        <li>
          Click <strong>Button 1, 2, or 3</strong> to simulate button clicks; <strong>Button 4</strong> takes 5 s to
          process and <strong>Button 5</strong> fails, retries and ends in the dead-letter topic.
        </li>
        <li>
          Type a message and click <strong>Send Message</strong> (or press Enter) to create a form submission.
        </li>
        <li>
          Use <strong>Quick Actions</strong> for common user behaviours: page views, a search, a logout.
        </li>
        <li>
          Watch your events appear in real time in the feed, the statistics, the <strong>Message Queue Monitor</strong>{' '}
          and the charts.
        </li>
      </ol>
    </section>
  )
}
