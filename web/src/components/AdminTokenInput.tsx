import { useId, useState } from 'react'
import { apiToken as adminToken, setApiToken as setAdminToken } from '../api/credentials'
import { Field, Hint, Input, Label } from './ui/Field'

/** The admin token for this tab: kept in sessionStorage, sent as a Bearer token with every request. */
export function AdminTokenInput() {
  const id = useId()
  const [token, setToken] = useState(adminToken)
  return (
    <Field>
      <Label htmlFor={id}>Admin token</Label>
      <Input
        id={id}
        type="password"
        autoComplete="off"
        value={token}
        placeholder="not needed on loopback"
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          setToken(e.target.value)
          setAdminToken(e.target.value.trim())
        }}
      />
      <Hint id={`${id}-hint`}>Kept for this tab only, sent as a Bearer token with every request.</Hint>
    </Field>
  )
}
