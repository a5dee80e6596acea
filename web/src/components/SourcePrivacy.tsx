import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { updateSource, type SourceChange } from '../api/client'
import { keys } from '../api/queries'
import type { TrackingSource } from '../api/schema'
import { errorMessage } from '../format'
import { useAllowed } from '../hooks/role'
import { Button } from './ui/Button'
import { Field, Hint, Input, Label } from './ui/Field'

/**
 * A source's privacy settings: whether its events keep the client's IP
 * address (off unless asked), and a retention of its own, shorter than the
 * server's (empty: the server's only).
 */
export function SourcePrivacy({ source }: { source: TrackingSource }) {
  const id = useId()
  const queryClient = useQueryClient()
  const operate = useAllowed('operator')
  const [retention, setRetention] = useState(source.settings.retention ?? '')
  const change = useMutation({
    mutationKey: keys.updateSource,
    mutationFn: (settings: NonNullable<SourceChange['settings']>) => updateSource(source.id, { settings }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.sources }),
  })
  const storeIP =
    change.isPending && change.variables?.store_ip !== undefined
      ? change.variables.store_ip
      : source.settings.store_ip === true
  const saved = source.settings.retention ?? ''
  return (
    <fieldset className="flex flex-col gap-2" aria-label={`Privacy of ${source.name}`}>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={storeIP}
          disabled={change.isPending || !operate.allowed}
          title={operate.why}
          onChange={(e) => change.mutate({ store_ip: e.target.checked })}
        />
        Store the client’s IP address (as the property pulse_client_ip, masked for everyone below admin)
      </label>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault()
          change.mutate({ retention: retention.trim() === '' ? '0s' : retention.trim() })
        }}
      >
        <Field>
          <Label htmlFor={`${id}-retention`}>Keep events for</Label>
          <Input
            id={`${id}-retention`}
            value={retention}
            placeholder="the server’s retention"
            className="w-48"
            aria-describedby={`${id}-retention-hint`}
            disabled={!operate.allowed}
            onChange={(e) => setRetention(e.target.value)}
          />
        </Field>
        <Button
          type="submit"
          disabled={change.isPending || !operate.allowed || retention.trim() === saved}
          title={operate.why}
        >
          Save
        </Button>
      </form>
      <Hint id={`${id}-retention-hint`}>
        30d or 36h, from 1h to 3650d; it only shortens the server’s retention. Empty keeps the server’s.
      </Hint>
      {change.error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {errorMessage(change.error)}
        </p>
      )}
    </fieldset>
  )
}
