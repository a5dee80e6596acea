// The script a site loads: <script defer src="https://HOST/pulse.js"
// data-key="pk_…"></script>. It reads its options from its own tag and
// puts the API on window.pulse; calls queued before it loaded, as
// window.pulseq = [['track', 'signup', {plan: 'pro'}], …], run first.

import { start, type Pulse } from './tracker.ts'

type Queued = [keyof Pulse, ...unknown[]]

const tag = document.currentScript as HTMLScriptElement | null
const data = tag?.dataset
if (!tag || !data?.key) {
  console.warn('pulse.js: no data-key on its script tag; nothing is tracked')
} else {
  const w = window as unknown as { pulse?: Pulse; pulseq?: Queued[] }
  const p = start({
    key: data.key,
    url: new URL('/api/collect', data.host || tag.src).href,
    consent: data.consent === 'required',
    dnt: 'respectDnt' in data,
    auto: data.auto !== 'false',
    text: 'captureText' in data,
  })
  w.pulse = p
  for (const [m, ...a] of w.pulseq ?? []) (p[m] as (...x: unknown[]) => void)(...a)
  w.pulseq = { push: ([m, ...a]: Queued) => (p[m] as (...x: unknown[]) => void)(...a) } as unknown as Queued[]
}
