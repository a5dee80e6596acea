import { userHash } from '../hooks/route'

/** A user id as a link to the user's page (#/users/<id>). */
export function UserLink({ userId }: { userId: string }) {
  return (
    <a className="text-blue-700 underline dark:text-blue-300" href={userHash(userId)}>
      {userId}
    </a>
  )
}
