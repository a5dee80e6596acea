// Runs once before the browser tests: checks that the browser is there and,
// unless PULSE_BIN names a binary (`make test-e2e` passes the one it built),
// builds the UI and cmd/pulse with it embedded into a temporary directory,
// which the returned teardown removes. The workers inherit PULSE_BIN.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromiumPath } from '../playwright.config.ts'

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const repoDir = path.resolve(webDir, '..')

export default function globalSetup(): () => void {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium, or set CHROMIUM`)
  }
  if (process.env.PULSE_BIN) {
    if (!existsSync(process.env.PULSE_BIN)) throw new Error(`PULSE_BIN=${process.env.PULSE_BIN} does not exist`)
    return () => {}
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pulse-e2e-bin-'))
  console.log('e2e: building the UI (npm run build)')
  execFileSync('npm', ['run', 'build'], { cwd: webDir, stdio: 'inherit' })
  const binary = path.join(tmp, 'pulse')
  console.log('e2e: building the pulse binary')
  execFileSync('go', ['build', '-o', binary, './cmd/pulse'], { cwd: repoDir, stdio: 'inherit' })
  process.env.PULSE_BIN = binary
  return () => rmSync(tmp, { recursive: true, force: true })
}
