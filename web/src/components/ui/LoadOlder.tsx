import { Button } from './Button'

/** The pages of an infinite query that lists newest first, as far as this button needs them. */
interface OlderPages {
  hasNextPage: boolean
  isFetchingNextPage: boolean
  fetchNextPage: () => Promise<unknown>
}

/** "Load older" under a list read newest first, while an older page exists. */
export function LoadOlder({ pages }: { pages: OlderPages }) {
  if (!pages.hasNextPage) return null
  return (
    <div className="mt-3">
      <Button onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
        Load older
      </Button>
    </div>
  )
}
