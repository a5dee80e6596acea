// Hash-based routing: the Go server answers every path with index.html, and
// a hash never reaches it, so #/dlq works on reload and behind any prefix.

import { useEffect, useState } from 'react'

export type View = 'dashboard' | 'consumers' | 'ordering' | 'dlq' | 'explorer' | 'load'

/** The views in navigation order, with their hash and label. */
export const VIEWS: readonly { view: View; hash: string; label: string }[] = [
  { view: 'dashboard', hash: '#/', label: 'Dashboard' },
  { view: 'consumers', hash: '#/consumers', label: 'Consumers' },
  { view: 'ordering', hash: '#/ordering', label: 'Ordering' },
  { view: 'dlq', hash: '#/dlq', label: 'Dead letters' },
  { view: 'explorer', hash: '#/explorer', label: 'Explorer' },
  { view: 'load', hash: '#/load', label: 'Load runs' },
]

/** The view a location hash names; anything unknown is the dashboard. */
export function viewOf(hash: string): View {
  const path = hash.replace(/^#\/?/, '').replace(/\/+$/, '').split(/[/?]/)[0]
  return VIEWS.find((v) => v.view === path)?.view ?? 'dashboard'
}

/** The current view, following hash changes. */
export function useView(): View {
  const [view, setView] = useState(() => viewOf(window.location.hash))
  useEffect(() => {
    const onHash = () => setView(viewOf(window.location.hash))
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])
  return view
}
