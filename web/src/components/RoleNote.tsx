import type { Permission } from '../hooks/role'

/**
 * Says, beside actions the signed-in role cannot take (they are disabled),
 * which role they need; nothing when the role may.
 */
export function RoleNote({ permission }: { permission: Permission }) {
  if (permission.allowed) return null
  return <p className="text-xs text-slate-600 dark:text-slate-400">{permission.why}</p>
}
