// Measures the dashboard's main thread while events arrive: Debian's
// Chromium opens the page, waits for its live connection and for the first
// render of what it loads (SETTLE_MS), then for the given seconds records
// every long task (over 50 ms, the Long Tasks API) and every animation
// frame. The long tasks of the start-up (from navigation to the end of the
// settling) are counted apart: opening the page lays it out whole once.
// Prints one JSON line:
//   {"seconds", "frames", "frames_per_second", "longest_frame_gap_ms",
//    "long_tasks", "longest_task_ms", "long_task_at_s",
//    "startup_long_tasks", "startup_longest_task_ms"}
// The longest gap between two frames bounds the longest task below 50 ms
// too: nothing else holds a frame back on an otherwise idle page.
//
//   node web/bench/page.mjs http://127.0.0.1:8000/ 30
//
// `pulse bench` runs it for its "page" scenario at 5,000 events/s.

import { chromium } from 'playwright-core'

const SETTLE_MS = 3000

const [url, secondsArg] = process.argv.slice(2)
const seconds = Number(secondsArg ?? '20')
if (!url || !Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write('usage: node web/bench/page.mjs <dashboard url> <seconds>\n')
  process.exit(2)
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
})
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  // Every long task from the first script on, with its start time.
  await page.addInitScript(() => {
    window.__longTasks = []
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration])
    }).observe({ type: 'longtask', buffered: true })
  })
  await page.goto(url)
  await page.waitForFunction(() => document.body.innerText.includes('Connected'), null, { timeout: 30_000 })
  await page.waitForTimeout(SETTLE_MS)
  const result = await page.evaluate(async (ms) => {
    let frames = 0
    let last = performance.now()
    let longestGap = 0
    const start = last
    await new Promise((resolve) => {
      const tick = (t) => {
        frames++
        longestGap = Math.max(longestGap, t - last)
        last = t
        if (t - start < ms) requestAnimationFrame(tick)
        else resolve()
      }
      requestAnimationFrame(tick)
    })
    const end = performance.now()
    const during = window.__longTasks.filter(([t]) => t >= start && t < end)
    const startup = window.__longTasks.filter(([t]) => t < start)
    const elapsed = (end - start) / 1000
    const longest = (tasks) => (tasks.length > 0 ? Math.max(...tasks.map(([, d]) => d)) : 0)
    return {
      seconds: elapsed,
      frames,
      frames_per_second: frames / elapsed,
      longest_frame_gap_ms: longestGap,
      long_tasks: during.length,
      longest_task_ms: longest(during),
      long_task_at_s: during.map(([t]) => Math.round((t - start) / 100) / 10),
      startup_long_tasks: startup.length,
      startup_longest_task_ms: longest(startup),
    }
  }, seconds * 1000)
  process.stdout.write(JSON.stringify(result) + '\n')
} finally {
  await browser.close()
}
