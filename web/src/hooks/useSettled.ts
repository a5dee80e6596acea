import { useEffect, useState } from 'react'

/** The text after it has stayed the same for ms: typing a value asks once, not per key. */
export function useSettled(text: string, ms: number): string {
  const [settled, setSettled] = useState(text)
  useEffect(() => {
    const t = setTimeout(() => setSettled(text), ms)
    return () => clearTimeout(t)
  }, [text, ms])
  return settled
}
