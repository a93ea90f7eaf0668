/**
 * Starts `switchyard run` as a child process on a config written to a temp dir, waits for /ready,
 * and stops it at test teardown. Output is kept so a failing test can print it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { freePort } from './ports.js'

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
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000)
  let ready = false
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${admin}/ready`)).status === 200) { ready = true; break }
    } catch {}
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!ready) {
    child.kill('SIGKILL')
    throw new Error(`gateway did not become ready:\n${out}`)
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

/** Polls fn until it returns true or the time is up. */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await fn()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}
