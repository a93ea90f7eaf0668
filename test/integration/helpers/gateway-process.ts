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

export interface GatewayProcess {
  readonly child: ChildProcess
  readonly dir: string
  readonly configPath: string
  readonly adminPort: number
  readonly admin: string
  output(): string
  /** Resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
  writeConfig(text: string): void
}

export async function startGateway(configFor: (adminPort: number) => string, opts: { workers?: number; env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'))
  const configPath = join(dir, 'config.yaml')
  const adminPort = await freePort()
  writeFileSync(configPath, configFor(adminPort))
  const child = spawn(process.execPath, [BIN, 'run', '-c', configPath, '--workers', String(opts.workers ?? 1)], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const admin = `http://127.0.0.1:${adminPort}`
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000)
  let ready = false
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${admin}/ready`)
      if (r.status === 200) { ready = true; break }
    } catch {}
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!ready) {
    child.kill('SIGKILL')
    throw new Error(`gateway did not become ready:\n${out}`)
  }
  return {
    child, dir, configPath, adminPort, admin, exited,
    output: () => out,
    writeConfig: (text) => writeFileSync(configPath, text),
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

/** Polls fn until it returns true or the time is up. */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await fn()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}
