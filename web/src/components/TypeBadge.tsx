import { typeBadge, typeStyle } from './eventStyle'
import { Badge } from './ui/Badge'

/** An event type as a coloured badge: BUTTON CLICK, in its type's colour. */
export function TypeBadge({ type }: { type: string }) {
  return (
    <Badge tone={typeStyle(type).badge} className="text-[10px] tracking-wide">
      {typeBadge(type)}
    </Badge>
  )
}
