import { useId, useState, type KeyboardEvent } from 'react'

// How far PageUp and PageDown move.
const PAGE = 5

interface Options {
  /** The rows' keys, in order. */
  keys: readonly string[]
  /** Brings a row into view (the list may be virtualised). */
  scrollTo: (index: number) => void
  /** What Enter does with the active row. */
  onEnter?: (key: string) => void
}

/**
 * One tab stop for a list of rows: the list element takes focus and keeps
 * an active row, announced through aria-activedescendant. ↑/↓,
 * PageUp/PageDown and Home/End move it, Enter acts on it. The active row is
 * kept by key, so it stays on its row as rows are added above it; the
 * first row until the keys move it.
 */
export function useActiveRow({ keys, scrollTo, onEnter }: Options) {
  const base = useId()
  const [activeKey, setActiveKey] = useState<string | null>(null)
  const found = activeKey === null ? -1 : keys.indexOf(activeKey)
  const active = found < 0 ? 0 : found

  const onKeyDown = (ev: KeyboardEvent) => {
    const last = keys.length - 1
    if (last < 0) return
    const moves: Record<string, number> = {
      ArrowDown: Math.min(last, active + 1),
      ArrowUp: Math.max(0, active - 1),
      PageDown: Math.min(last, active + PAGE),
      PageUp: Math.max(0, active - PAGE),
      Home: 0,
      End: last,
    }
    const next = moves[ev.key]
    if (next !== undefined) {
      ev.preventDefault()
      setActiveKey(keys[next])
      scrollTo(next)
      return
    }
    if (ev.key === 'Enter' && onEnter && keys[active] !== undefined) {
      ev.preventDefault()
      onEnter(keys[active])
    }
  }

  return {
    /** The index of the active row. */
    active,
    /** The id a row at an index must carry. */
    rowId: (index: number) => `${base}-${index}`,
    /** The id of the line that says which keys do what. */
    hintId: `${base}-keys`,
    /** Spread on the focusable list element. */
    listProps: {
      tabIndex: 0,
      onKeyDown,
      'aria-activedescendant': keys.length > 0 ? `${base}-${active}` : undefined,
      'aria-describedby': `${base}-keys`,
    },
  }
}
