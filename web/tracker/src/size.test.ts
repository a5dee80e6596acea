// @vitest-environment node
// pulse.js must stay small: every page of a customer's site loads it. The
// tracker is built here as `npm run build` builds it, and its gzipped size
// checked against the budget of issue 17 (3 KB).

import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { build, type Rollup } from 'vite'
import { expect, it } from 'vitest'

const BUDGET = 3 * 1024

it('pulse.js is at most 3 KB gzipped', async () => {
  const root = path.resolve(import.meta.dirname, '..', '..')
  const out = (await build({
    root,
    configFile: path.join(root, 'vite.tracker.config.ts'),
    logLevel: 'silent',
    build: { write: false },
  })) as Rollup.RollupOutput[]
  const chunk = out.flatMap((o) => o.output).find((c) => c.fileName === 'pulse.js')
  expect(chunk, 'the build makes pulse.js').toBeDefined()
  const code = chunk && 'code' in chunk ? chunk.code : ''
  const gz = gzipSync(code, { level: 9 }).length
  console.log(`pulse.js: ${code.length} bytes, ${gz} gzipped (budget ${BUDGET})`)
  expect(gz).toBeLessThanOrEqual(BUDGET)
  // One classic script, no module syntax a <script defer> cannot run.
  expect(code).not.toMatch(/^\s*(import|export)\s/m)
})
