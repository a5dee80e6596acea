// Measures the dashboard's main thread while events arrive: Debian's
// Chromium opens the page, waits for its live connection, then for the
// given seconds records every long task (over 50 ms, the Long Tasks API)
// and every animation frame. Prints one JSON line:
//   {"seconds", "frames", "frames_per_second", "longest_frame_gap_ms",
//    "long_tasks", "longest_task_ms"}
// The longest gap between two frames bounds the longest task below 50 ms
// too: nothing else holds a frame back on an otherwise idle page.
//
//   node web/bench/page.mjs http://127.0.0.1:8000/ 30
//
// `pulse bench` runs it for its "page" scenario at 5,000 events/s.

import { chromium } from 'playwright-core'

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
  await page.goto(url)
  await page.waitForFunction(() => document.body.innerText.includes('Connected'), null, { timeout: 30_000 })
  const result = await page.evaluate(async (ms) => {
    const tasks = []
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push(e.duration)
    })
    observer.observe({ type: 'longtask' })
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
    observer.disconnect()
    const elapsed = (performance.now() - start) / 1000
    return {
      seconds: elapsed,
      frames,
      frames_per_second: frames / elapsed,
      longest_frame_gap_ms: longestGap,
      long_tasks: tasks.length,
      longest_task_ms: tasks.length > 0 ? Math.max(...tasks) : 0,
    }
  }, seconds * 1000)
  process.stdout.write(JSON.stringify(result) + '\n')
} finally {
  await browser.close()
}
