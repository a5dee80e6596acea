// The real server under test: `pulse serve` on free loopback ports, with its
// embedded Kafka broker and a fresh data directory, stopped after the tests
// of the file that started it. PULSE_BIN names the binary (`make test-e2e`
// passes the one it built; global-setup.ts builds one when it is unset);
// E2E_KEEP=1 keeps the temporary directory with the server log. A spec may
// pass `pulse serve` more arguments and have accounts made with `pulse users
// add` before the first start, so the server asks for a sign-in.

import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/** Asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      if (addr === null || typeof addr === 'string') {
        reject(new Error(`unexpected listener address ${String(addr)}`))
        return
      }
      srv.close(() => resolve(addr.port))
    })
  })
}

type Exit = { code: number | null; signal: NodeJS.Signals | null }

/** An account `pulse users add` makes before the server starts. */
export interface SeedAccount {
  email: string
  role: 'viewer' | 'operator' | 'admin'
  password: string
}

/** How a spec wants its server. */
export interface ServerOptions {
  /** More arguments of `pulse serve`, after the ones every server gets. */
  serveArgs?: readonly string[]
  /** Accounts made before the first start, in the server's data directory. */
  accounts?: readonly SeedAccount[]
}

/** Runs the binary with args and stdin to its end; rejects with its output when it fails. */
function run(binary: string, args: readonly string[], stdin: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    proc.stdout.on('data', (b: Buffer) => (output += b.toString()))
    proc.stderr.on('data', (b: Buffer) => (output += b.toString()))
    proc.on('error', reject)
    proc.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`pulse ${args.join(' ')} exited with ${code ?? signal}:\n${output}`)),
    )
    proc.stdin.end(stdin)
  })
}

/** One `pulse serve` process and its temporary directory. */
export class PulseServer {
  readonly tmp: string
  readonly logPath: string
  base = ''
  private ports: { http: number; broker: number } | null = null
  private extraArgs: string[] = []
  private seeded = false
  private proc: ChildProcess | null = null
  private exited: Promise<Exit> | null = null

  constructor(
    readonly binary: string,
    readonly options: ServerOptions = {},
  ) {
    this.tmp = mkdtempSync(path.join(os.tmpdir(), 'pulse-e2e-'))
    this.logPath = path.join(this.tmp, 'pulse.log')
  }

  /** The data directory, the same for `pulse serve` and `pulse users`. */
  get dataDir(): string {
    return path.join(this.tmp, 'data')
  }

  /** Makes an account with `pulse users add`, the password on stdin. */
  async addAccount(a: SeedAccount): Promise<void> {
    const args = ['users', 'add', '--email', a.email, '--role', a.role, '--password-stdin', '--data-dir', this.dataDir]
    await run(this.binary, args, `${a.password}\n`, this.tmp)
  }

  /**
   * Chooses the server's ports before it starts and returns its base URL,
   * for what must know it first (an OpenID provider's redirect URI).
   */
  async reserve(): Promise<string> {
    this.ports ??= { http: await freePort(), broker: await freePort() }
    this.base = `http://127.0.0.1:${this.ports.http}`
    return this.base
  }

  /** More arguments of `pulse serve`, for the next start. */
  addServeArgs(...args: string[]): void {
    this.extraArgs.push(...args)
  }

  /**
   * Starts the server and waits until GET /api/health/ answers 200; the
   * first start makes the options' accounts. A restart keeps the ports and
   * the data directory.
   */
  async start(): Promise<void> {
    if (!this.seeded) for (const a of this.options.accounts ?? []) await this.addAccount(a)
    this.seeded = true
    this.ports ??= { http: await freePort(), broker: await freePort() }
    const { http: httpPort, broker: brokerPort } = this.ports
    this.base = `http://127.0.0.1:${httpPort}`
    const args = [
      'serve',
      '--addr',
      `127.0.0.1:${httpPort}`,
      '--broker-addr',
      `127.0.0.1:${brokerPort}`,
      '--data-dir',
      this.dataDir,
      // Retries after about 100, 200 and 400 ms rather than the default 1, 2 and 4 s: Button 5 is
      // dead-lettered in well under a second, as the steps were timed for.
      '--retry-base',
      '100ms',
      ...(this.options.serveArgs ?? []),
      ...this.extraArgs,
    ]
    const out = createWriteStream(this.logPath, { flags: 'a' })
    const proc = spawn(this.binary, args, { cwd: this.tmp, stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    proc.stdout.pipe(out)
    proc.stderr.pipe(out)
    let gone: Exit | null = null
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        gone = { code, signal }
        resolve(gone)
      }),
    )
    const deadline = Date.now() + 60_000
    for (;;) {
      if (gone) throw new Error(`pulse serve exited early (${JSON.stringify(gone)})\n${this.logTail()}`)
      const health = await this.health()
      if (health === 200) return
      if (Date.now() > deadline) {
        throw new Error(`GET /api/health/ did not answer 200 within 60 s (${health})\n${this.logTail()}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** The status of GET /api/health/, or why it could not be asked. */
  private async health(): Promise<number | string> {
    try {
      return (await fetch(`${this.base}/api/health/`)).status
    } catch (err) {
      return err instanceof Error ? err.message : String(err)
    }
  }

  /** The last lines of the server log, for a failure message. */
  logTail(lines = 40): string {
    try {
      const text = readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
      return `--- server log (tail) ---\n${text}`
    } catch {
      return '(no server log)'
    }
  }

  /** Stops the server and starts it again on the same ports and data (SIGTERM: a clean stop). */
  async restart(): Promise<void> {
    await this.halt()
    await this.start()
  }

  /** Stops the server (SIGTERM, then SIGKILL if it has not exited in 15 s) and removes its directory. */
  async stop(): Promise<void> {
    await this.halt()
    if (process.env.E2E_KEEP === '1') console.log(`e2e: kept ${this.tmp}`)
    else rmSync(this.tmp, { recursive: true, force: true })
  }

  /** Stops the process, keeping its directory. */
  private async halt(): Promise<void> {
    const proc = this.proc
    if (proc && this.exited && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM')
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref())
      if ((await Promise.race([this.exited, timeout])) === 'timeout') {
        proc.kill('SIGKILL')
        await this.exited
      }
    }
    this.proc = null
  }
}

/** The binary to test: PULSE_BIN, which global-setup.ts sets when the caller did not. */
export function pulseBinary(): string {
  const binary = process.env.PULSE_BIN
  if (!binary) throw new Error('PULSE_BIN is not set (global-setup.ts sets it)')
  if (!existsSync(binary)) throw new Error(`PULSE_BIN=${binary} does not exist`)
  return binary
}
