import { useEffect, useRef, useState } from 'react'
import { allows, useRole } from '../hooks/role'
import { VIEWS, type View } from '../hooks/route'

const EDGE = 4

/**
 * The navigation between the dashboard and the console views (those the
 * signed-in role may use); the current one has aria-current. On a narrow screen the links scroll sideways, and a
 * fade with an arrow on the side that has more says so.
 */
export function Nav({ current }: { current: View }) {
  const list = useRef<HTMLUListElement>(null)
  const [more, setMore] = useState({ before: false, after: false })
  const role = useRole()
  const views = VIEWS.filter((v) => v.needs === undefined || allows(role, v.needs))

  useEffect(() => {
    const el = list.current
    if (el === null) return
    const measure = () =>
      setMore({
        before: el.scrollLeft > EDGE,
        after: el.scrollLeft + el.clientWidth < el.scrollWidth - EDGE,
      })
    measure()
    el.addEventListener('scroll', measure, { passive: true })
    const resize = new ResizeObserver(measure)
    resize.observe(el)
    return () => {
      el.removeEventListener('scroll', measure)
      resize.disconnect()
    }
  }, [])

  // The current view's link is in sight, even when it is the last one.
  useEffect(() => {
    const el = list.current?.querySelector<HTMLElement>('[aria-current="page"]')
    el?.scrollIntoView?.({ block: 'nearest', inline: 'center' })
  }, [current])

  return (
    <nav aria-label="Views" className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="relative mx-auto w-full max-w-[120rem]">
        <ul ref={list} className="flex gap-1 overflow-x-auto px-4 [scrollbar-width:thin] sm:px-6 lg:px-8">
          {views.map((v) => {
            const active = v.view === current
            return (
              <li key={v.view} className="shrink-0">
                <a
                  href={v.hash}
                  aria-current={active ? 'page' : undefined}
                  className={`block border-b-2 px-3 py-2.5 text-sm whitespace-nowrap focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-blue-600 dark:focus-visible:outline-blue-400 ${
                    active
                      ? 'border-blue-600 font-semibold text-blue-700 dark:border-blue-400 dark:text-blue-300'
                      : 'border-transparent text-slate-700 hover:text-slate-900 dark:text-slate-300 dark:hover:text-slate-100'
                  }`}
                >
                  {v.label}
                </a>
              </li>
            )
          })}
        </ul>
        {more.before && (
          <span
            aria-hidden="true"
            className="pointer-events-none absolute inset-y-0 left-0 flex w-10 items-center justify-start bg-linear-to-r from-white to-transparent pl-1 text-slate-600 dark:from-slate-900 dark:text-slate-300"
          >
            ‹
          </span>
        )}
        {more.after && (
          <span
            aria-hidden="true"
            className="pointer-events-none absolute inset-y-0 right-0 flex w-10 items-center justify-end bg-linear-to-l from-white to-transparent pr-1 text-slate-600 dark:from-slate-900 dark:text-slate-300"
          >
            ›
          </span>
        )}
      </div>
    </nav>
  )
}
