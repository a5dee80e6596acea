// Runs every browser test, each against its own fresh server: the dashboard
// first, then the operator console. The binary is built once here (unless
// PULSE_BIN names one) and handed to both.
//
//   npm run e2e

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Failure, log, pulseBinary } from './harness.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const suites = ['dashboard.e2e.mjs', 'console.e2e.mjs']

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pulse-e2e-bin-'))
let code = 0
try {
  const binary = pulseBinary(tmp)
  for (const suite of suites) {
    log(`--- ${suite}`)
    const r = spawnSync(process.execPath, [path.join(here, suite)], {
      stdio: 'inherit',
      env: { ...process.env, PULSE_BIN: binary },
    })
    if (r.status !== 0) {
      code = 1
      log(`${suite} failed`)
    }
  }
} catch (err) {
  process.stderr.write(`e2e: FAIL: ${err instanceof Failure ? err.message : String(err)}\n`)
  code = 1
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
process.exit(code)
