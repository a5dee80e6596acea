import { VIEWS, type View } from '../hooks/route'

/** The navigation between the dashboard and the console views; the current one has aria-current. */
export function Nav({ current }: { current: View }) {
  return (
    <nav aria-label="Views" className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <ul className="mx-auto flex max-w-5xl gap-1 overflow-x-auto px-4 sm:px-6">
        {VIEWS.map((v) => {
          const active = v.view === current
          return (
            <li key={v.view}>
              <a
                href={v.hash}
                aria-current={active ? 'page' : undefined}
                className={`block border-b-2 px-3 py-2 text-sm whitespace-nowrap focus-visible:outline-2 focus-visible:outline-blue-500 ${
                  active
                    ? 'border-blue-600 font-semibold text-blue-700 dark:text-blue-300'
                    : 'border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-100'
                }`}
              >
                {v.label}
              </a>
            </li>
          )
        })}
      </ul>
    </nav>
  )
}
