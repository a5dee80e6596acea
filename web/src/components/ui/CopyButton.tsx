import { useState } from 'react'
import { Button } from './Button'

/** Copies text to the clipboard and says "Copied" for a moment; label names what it copies. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <Button
      variant="quiet"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => {
            setCopied(true)
            setTimeout(() => setCopied(false), 1500)
          },
          () => setCopied(false),
        )
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </Button>
  )
}
