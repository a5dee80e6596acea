import type { ReactNode } from 'react'

/** One column: its header, and how a row fills its cell. */
export interface Column<T> {
  /** The header; also the label of the cell when rows are stacked. */
  header: string
  /** Shown to screen readers only (a column of buttons). */
  hideHeader?: boolean
  cell: (row: T) => ReactNode
  /** Extra classes of the cell (truncation, emphasis). */
  className?: string | ((row: T) => string)
}

interface Props<T> {
  /** The table's accessible name. */
  caption: string
  /** Shows the caption above the table; otherwise it is for screen readers only. */
  showCaption?: boolean
  columns: readonly Column<T>[]
  rows: readonly T[]
  rowKey: (row: T) => string | number
  /** What an empty table says, in a row of its own. */
  empty?: ReactNode
}

// Narrower than its container query breakpoint (42rem), a table becomes a
// list of stacked rows, each cell a "label: value" line, instead of columns
// clipped by the screen or scrolled sideways. The breakpoint is the card's
// width, not the window's, so a table in a narrow column stacks too.
const TABLE = 'w-full text-xs tabular-nums block @2xl:table'
const TBODY = 'block @2xl:table-row-group'
const TR = 'block border-t border-slate-200 py-1.5 @2xl:table-row @2xl:py-0 dark:border-slate-800'
const TD =
  'flex min-w-0 items-baseline justify-between gap-3 px-2 py-0.5 text-right break-words before:shrink-0 before:text-left before:font-medium before:text-slate-600 before:content-[attr(data-label)] @2xl:table-cell @2xl:py-1.5 @2xl:text-left @2xl:before:content-none dark:before:text-slate-400'
const TH = 'px-2 py-1.5 text-left text-xs font-medium whitespace-nowrap text-slate-600 dark:text-slate-400'

/** A table that reads as columns where there is room and as stacked "label: value" rows where there is not. */
export function DataTable<T>({ caption, showCaption = false, columns, rows, rowKey, empty }: Props<T>) {
  return (
    <div className="@container min-w-0">
      <table className={TABLE}>
        <caption className={showCaption ? 'mb-1 block text-left text-sm font-medium @2xl:table-caption' : 'sr-only'}>
          {caption}
        </caption>
        <thead className="sr-only @2xl:not-sr-only @2xl:table-header-group">
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={TH}>
                {c.hideHeader ? <span className="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className={TBODY}>
          {rows.length === 0 && empty !== undefined ? (
            <tr className={TR}>
              <td
                colSpan={columns.length}
                className="block px-2 py-4 text-center text-slate-600 @2xl:table-cell dark:text-slate-400"
              >
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr key={rowKey(r)} className={TR}>
                {columns.map((c) => (
                  <td
                    key={c.header}
                    data-label={c.hideHeader ? undefined : c.header}
                    className={`${TD} ${typeof c.className === 'function' ? c.className(r) : (c.className ?? '')}`}
                  >
                    {c.cell(r)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  )
}
