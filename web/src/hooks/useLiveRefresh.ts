import { useQueryClient, type QueryKey } from '@tanstack/react-query'
import { useEffect, useRef } from 'react'

/**
 * Asks for a query again when the live socket's count of stored events
 * moves, at most once per minMs: the open bucket of a trend follows the
 * events as they are stored, without polling faster. A change within minMs
 * of the last ask is taken at its end, so the last events are never left
 * out. Nothing happens while stored is null (no socket).
 */
export function useLiveRefresh(key: QueryKey, stored: number | null, minMs: number): void {
  const queryClient = useQueryClient()
  const last = useRef(0)
  const seen = useRef(stored)
  const keyText = JSON.stringify(key)
  useEffect(() => {
    if (stored === null || stored === seen.current) return
    seen.current = stored
    const wait = Math.max(0, last.current + minMs - Date.now())
    const t = setTimeout(() => {
      last.current = Date.now()
      void queryClient.invalidateQueries({ queryKey: JSON.parse(keyText) as QueryKey, exact: true })
    }, wait)
    return () => clearTimeout(t)
  }, [stored, keyText, minMs, queryClient])
}
