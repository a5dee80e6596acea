// Measures what pulse.js costs a page: Debian's Chromium loads a one-page
// site whose only script is the pulse.js tag, cold (a fresh profile each
// time, so pulse.js comes over the network) and warm (a new page of a
// profile that loaded it before, so from the browser's cache), and the
// same page without the tag. Per load it reads
// the main thread's script time from the DevTools protocol
// (Performance.getMetrics ScriptDuration: parse, compile and run), the
// time from navigation to the load event (pulse.js, deferred, has run by
// then), and pulse.js's transfer. Prints one JSON line:
//   {"loads", "script_bytes", "transfer_bytes", "cold_script_ms",
//    "warm_script_ms", "baseline_script_ms", "cold_load_ms",
//    "warm_load_ms", "fetch_ms"}
// each *_ms a {"median", "p95"} over the loads.
//
//   node web/bench/tracker.mjs http://127.0.0.1:8000 20
//
// The site is served by this script on another port (another origin), so
// the tracker talks to Pulse across origins as on a real site. It creates
// the source it sends with (the server must take admin requests from
// loopback). `pulse bench` runs it with its "page" scenario.

import { createServer } from 'node:http'
import { chromium } from 'playwright-core'

const [base, loadsArg] = process.argv.slice(2)
const loads = Number(loadsArg ?? '20')
if (!base || !Number.isInteger(loads) || loads <= 0) {
  process.stderr.write('usage: node web/bench/tracker.mjs <pulse base url> <loads>\n')
  process.exit(2)
}

const html = (tag) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>${tag}</head>` +
  `<body><h1>A shop</h1><button data-pulse-event="add_to_cart">Add</button></body></html>`
let body = ''
const site = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  res.end(body)
})
await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve))
const SITE = `http://127.0.0.1:${site.address().port}`

const res = await fetch(`${base}/api/sources/`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ name: `bench-tracker-${Date.now()}`, origins: [SITE] }),
})
if (!res.ok) throw new Error(`create a source: ${res.status} ${await res.text()}`)
const { source } = await res.json()

const withTag = html(`<script defer src="${base}/pulse.js" data-key="${source.write_key}"></script>`)
const without = html('')

const quantiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return { median: at(0.5), p95: at(0.95) }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
})

/**
 * Loads the site (with or without the tag) in a new page of context, after
 * `before` loads in pages of their own (which fill the browser's cache),
 * and returns the last load's figures. A new page per load: the script
 * time read is the page's own.
 */
async function measure(context, html_, before) {
  body = html_
  let out
  for (let i = 0; i <= before; i++) {
    const page = await context.newPage()
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable')
    // A deferred script runs before the load event: read the metrics at
    // once, before anything of ours runs in the page.
    await page.goto(`${SITE}/`, { waitUntil: 'load' })
    const metrics = await cdp.send('Performance.getMetrics')
    const script = metrics.metrics.find((x) => x.name === 'ScriptDuration')?.value ?? 0
    const ready = await page.evaluate(() => typeof window.pulse?.track === 'function')
    if (ready !== (html_ === withTag))
      throw new Error(`window.pulse ${ready ? 'is there without the tag' : 'missing after load'}`)
    const timing = await page.evaluate((url) => {
      const r = performance.getEntriesByName(url)[0]
      return {
        ready: performance.getEntriesByType('navigation')[0].loadEventStart,
        fetch: r ? r.responseEnd - r.startTime : 0,
        transfer: r ? r.transferSize : 0,
        decoded: r ? r.decodedBodySize : 0,
      }
    }, `${base}/pulse.js`)
    out = { script: script * 1000, ...timing }
    await page.close()
  }
  return out
}

try {
  const cold = []
  const warm = []
  const baseline = []
  let transfer = 0
  let decoded = 0
  for (let i = 0; i < loads; i++) {
    const c1 = await browser.newContext()
    const first = await measure(c1, withTag, 0)
    await c1.close()
    cold.push(first)
    transfer = first.transfer
    decoded = first.decoded
    const c2 = await browser.newContext()
    warm.push(await measure(c2, withTag, 1))
    await c2.close()
    const c3 = await browser.newContext()
    baseline.push(await measure(c3, without, 0))
    await c3.close()
  }
  process.stdout.write(
    JSON.stringify({
      loads,
      script_bytes: decoded,
      transfer_bytes: transfer,
      cold_script_ms: quantiles(cold.map((x) => x.script)),
      warm_script_ms: quantiles(warm.map((x) => x.script)),
      baseline_script_ms: quantiles(baseline.map((x) => x.script)),
      cold_load_ms: quantiles(cold.map((x) => x.ready)),
      warm_load_ms: quantiles(warm.map((x) => x.ready)),
      fetch_ms: quantiles(cold.map((x) => x.fetch)),
    }) + '\n',
  )
} finally {
  await browser.close()
  site.close()
}
