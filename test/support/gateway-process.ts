/**
 * Starts `switchyard run` as a child process on a config written to a temp dir, waits for /ready,
 * and stops it at test teardown. Output is kept so a failing test can print it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { freePort } from './ports.js'

// The one polling helper lives in eventually.ts; re-exported here because most tests import it with the gateway.
export { eventually } from './eventually.js'

/**
 * How long a start may take before it counts as failed. A start on a quiet box takes well under a
 * second; on a loaded 2-core CI box (two test files at once, plus the other processes) the same
 * start has been seen to take several seconds, and a 10 s limit failed whole files with "gateway
 * did not become ready". Bounded, so a gateway that never comes up still fails the test.
 */
export const GATEWAY_READY_MS = 30_000

export const BIN = resolve('bin/switchyard.js')

export interface GatewayProcess extends SpawnedGateway {
  readonly dir: string
  readonly configPath: string
  writeConfig(text: string): void
}

/** A running `switchyard …` child process that answered /ready. */
export interface SpawnedGateway {
  readonly child: ChildProcess
  readonly adminPort: number
  readonly admin: string
  output(): string
  /** Resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
}

/** Runs `switchyard <args>` and waits until its admin API on `adminPort` says /ready. */
export async function spawnGateway(args: readonly string[], opts: { adminPort: number; env?: Record<string, string>; readyTimeoutMs?: number }): Promise<SpawnedGateway> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const admin = `http://127.0.0.1:${opts.adminPort}`
  const readyMs = opts.readyTimeoutMs ?? GATEWAY_READY_MS
  const deadline = Date.now() + readyMs
  let ready = false
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${admin}/ready`)).status === 200) { ready = true; break }
    } catch {}
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!ready) {
    child.kill('SIGKILL')
    const why = child.exitCode !== null ? `exited with ${child.exitCode}` : `no /ready within ${readyMs} ms`
    throw new Error(`gateway did not become ready (${why}):\n${out}`)
  }
  return {
    child, adminPort: opts.adminPort, admin, exited,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      child.kill(signal)
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(t)
      return code
    },
  }
}

export async function startGateway(configFor: (adminPort: number) => string, opts: { workers?: number; env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'))
  const configPath = join(dir, 'config.yaml')
  const adminPort = await freePort()
  writeFileSync(configPath, configFor(adminPort))
  const gw = await spawnGateway(['run', '-c', configPath, '--workers', String(opts.workers ?? 1)], { adminPort, ...opts })
  return { ...gw, dir, configPath, writeConfig: (text) => writeFileSync(configPath, text) }
}
