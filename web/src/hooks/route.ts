// Hash-based routing: the Go server answers every path with index.html, and
// a hash never reaches it, so #/dlq works on reload and behind any prefix.
// A view's state (filters, the open tab, the selected record) lives in the
// hash's query, #/explorer?user_id=user_ab12&timeline=ev-1, so a link
// reproduces what its sender saw, and Back undoes a step.

import { useCallback, useMemo, useSyncExternalStore } from 'react'
import type { Role } from '../api/schema'

export type View =
  | 'dashboard'
  | 'insights'
  | 'consumers'
  | 'alerts'
  | 'ordering'
  | 'dlq'
  | 'explorer'
  | 'load'
  | 'sources'
  | 'delivery'
  | 'plan'
  | 'users'
  | 'accounts'
  | 'audit'
  | 'privacy'

/** The views in navigation order, with their hash, label and the role they need to be listed, if any. */
export const VIEWS: readonly { view: View; hash: string; label: string; needs?: Role }[] = [
  { view: 'dashboard', hash: '#/', label: 'Dashboard' },
  { view: 'insights', hash: '#/insights', label: 'Insights' },
  { view: 'consumers', hash: '#/consumers', label: 'Consumers' },
  { view: 'alerts', hash: '#/alerts', label: 'Alerts' },
  { view: 'ordering', hash: '#/ordering', label: 'Ordering' },
  { view: 'dlq', hash: '#/dlq', label: 'Dead letters' },
  { view: 'explorer', hash: '#/explorer', label: 'Explorer' },
  { view: 'load', hash: '#/load', label: 'Load runs' },
  { view: 'sources', hash: '#/sources', label: 'Sources' },
  { view: 'delivery', hash: '#/delivery', label: 'Delivery' },
  { view: 'plan', hash: '#/plan', label: 'Tracking plan' },
  { view: 'accounts', hash: '#/accounts', label: 'Accounts', needs: 'admin' },
  { view: 'audit', hash: '#/audit', label: 'Audit log', needs: 'admin' },
  { view: 'privacy', hash: '#/privacy', label: 'Privacy', needs: 'admin' },
]

/** Every view: those of the navigation, and a user's page (#/users/<id>), reached from the user ids shown. */
const ROUTES: readonly { view: View; hash: string; label: string }[] = [
  ...VIEWS,
  { view: 'users', hash: '#/users', label: 'User' },
]

/** The view a location hash names; anything unknown is the dashboard. */
export function viewOf(hash: string): View {
  const path = hash.replace(/^#\/?/, '').replace(/\/+$/, '').split(/[/?]/)[0]
  return ROUTES.find((v) => v.view === path)?.view ?? 'dashboard'
}

/** The hash of a user's page: the id is one path segment, so a slash in it is escaped. */
export function userHash(userId: string): string {
  return `#/users/${encodeURIComponent(userId)}`
}

/** The user id of a user's page's subpath ("" when it is not one). */
export function userIdOf(subpath: string): string {
  try {
    return decodeURIComponent(subpath)
  } catch {
    return subpath
  }
}

/**
 * The path under a view of a location hash: #/insights/funnels?x=1 gives
 * "funnels"; "" when there is none or the view is unknown.
 */
export function subpathOf(hash: string): string {
  const path = hash.replace(/^#\/?/, '').split('?')[0].replace(/\/+$/, '')
  const [view, ...rest] = path.split('/')
  if (ROUTES.find((v) => v.view === view) === undefined) return ''
  return rest.filter((p) => p !== '').join('/')
}

/** The state in a location hash's query: #/explorer?user_id=x gives user_id=x. */
export function paramsOf(hash: string): URLSearchParams {
  const q = hash.indexOf('?')
  return new URLSearchParams(q < 0 ? '' : hash.slice(q + 1))
}

/** A value of a route parameter; null removes it. Lists are repeated keys. */
export type ParamValue = string | readonly string[] | null

/**
 * The hash of a view (and a path under it, such as insights' "funnels")
 * with a state; empty values are left out so links stay short.
 */
export function hashOf(view: View, params: URLSearchParams | Record<string, ParamValue>, subpath = ''): string {
  const root = ROUTES.find((v) => v.view === view)?.hash ?? '#/'
  const base = subpath === '' || view === 'dashboard' ? root : `${root}/${subpath}`
  const q = params instanceof URLSearchParams ? new URLSearchParams(params) : new URLSearchParams()
  if (!(params instanceof URLSearchParams)) {
    for (const [k, v] of Object.entries(params)) {
      if (v === null) continue
      for (const item of typeof v === 'string' ? [v] : v) if (item !== '') q.append(k, item)
    }
  }
  for (const [k, v] of [...q]) if (v === '') q.delete(k, v)
  q.sort()
  const s = q.toString()
  return s === '' ? base : `${base}?${s}`
}

/** The hash with some parameters replaced (null or [] removes one), the view and its path kept. */
export function patchHash(hash: string, patch: Record<string, ParamValue>): string {
  const q = paramsOf(hash)
  for (const [k, v] of Object.entries(patch)) {
    q.delete(k)
    if (v === null) continue
    for (const item of typeof v === 'string' ? [v] : v) q.append(k, item)
  }
  return hashOf(viewOf(hash), q, subpathOf(hash))
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange)
  window.addEventListener('popstate', onChange)
  return () => {
    window.removeEventListener('hashchange', onChange)
    window.removeEventListener('popstate', onChange)
  }
}

const currentHash = () => window.location.hash

/**
 * Moves to a hash. A new state is a history entry (Back undoes it); a
 * replace is for what is not a step of its own (typing in a filter).
 */
export function navigate(hash: string, { replace = false } = {}) {
  if (hash === window.location.hash) return
  const url = `${window.location.pathname}${window.location.search}${hash}`
  if (replace) window.history.replaceState(window.history.state, '', url)
  else window.history.pushState(window.history.state, '', url)
  // pushState and replaceState fire no event of their own.
  window.dispatchEvent(new HashChangeEvent('hashchange'))
}

/** The current location hash, following changes. */
export function useHash(): string {
  return useSyncExternalStore(subscribe, currentHash)
}

/** The current view, following hash changes. */
export function useView(): View {
  return viewOf(useHash())
}

/** The current path under the view ("funnels" of #/insights/funnels), following hash changes. */
export function useSubpath(): string {
  return subpathOf(useHash())
}

/**
 * The current view's state in the URL, and a function to change some of it.
 * The parameters are a new object only when the hash changes.
 */
export function useRouteParams(): [
  URLSearchParams,
  (patch: Record<string, ParamValue>, options?: { replace?: boolean }) => void,
] {
  const hash = useHash()
  const params = useMemo(() => paramsOf(hash), [hash])
  const update = useCallback(
    (patch: Record<string, ParamValue>, options?: { replace?: boolean }) =>
      navigate(patchHash(window.location.hash, patch), options),
    [],
  )
  return [params, update]
}
