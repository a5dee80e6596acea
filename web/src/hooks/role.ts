// Who is signed in, for the UI to hide or disable what their role cannot do.
// It is only a courtesy: the server checks every request and the UI shows
// its answer, so a role changed since sign-in is refused in words.

import { createContext, useContext } from 'react'
import type { Role, Whoami } from '../api/schema'

/** The signed-in user (or token); null where no session is known (component tests). */
export const WhoamiContext = createContext<Whoami | null>(null)

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

/** Whether have may do what needs need; an unknown role leaves the answer to the server. */
export function allows(have: Role | null, need: Role): boolean {
  return have === null || RANK[have] >= RANK[need]
}

/** Whether the user may do something, and if not, why in words. */
export interface Permission {
  allowed: boolean
  /** "Needs the operator role; you have viewer." when not allowed. */
  why: string | undefined
}

/** The signed-in user, or null where none is known. */
export function useWhoami(): Whoami | null {
  return useContext(WhoamiContext)
}

/** The signed-in role, or null where none is known. */
export function useRole(): Role | null {
  return useWhoami()?.role ?? null
}

/** Whether the signed-in role may do what needs need. */
export function useAllowed(need: Role): Permission {
  const role = useRole()
  if (allows(role, need)) return { allowed: true, why: undefined }
  return { allowed: false, why: `Needs the ${need} role; you have ${role ?? 'none'}.` }
}
