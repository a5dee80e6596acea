import { isMasked } from '../api/privacy'
import { userHash } from '../hooks/route'
import { MaskedValue } from './MaskedValue'

/**
 * A user id as a link to the user's page (#/users/<id>). A masked id is
 * plain text with its cue: the page of a user is the admin's, who sees
 * real ids.
 */
export function UserLink({ userId }: { userId: string }) {
  if (isMasked(userId)) return <MaskedValue value={userId} />
  return (
    <a className="text-blue-700 underline dark:text-blue-300" href={userHash(userId)}>
      {userId}
    </a>
  )
}
