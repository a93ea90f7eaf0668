/**
 * The service binaries the suites start and their Debian packages: a typed view of
 * services.json, the one list that scripts/run-tests.js checks and scripts/setup-services.js installs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { repoRoot } from './repo-root.js'

export interface Service {
  readonly binary: string
  /** The Debian package that ships `binary`. */
  readonly package: string
  /** What the suites use it for (setup-services prints it). */
  readonly why: string
}

export const SERVICES: readonly Service[] = (JSON.parse(readFileSync(join(repoRoot, 'test', 'support', 'services.json'), 'utf8')) as { services: Service[] }).services

/**
 * The command to run for one of SERVICES: `$<envVar>` or the binary's own name. Throws, naming the
 * Debian package to install, when it does not run (in CI a missing service fails, never skips).
 */
export function serviceBinary(binary: string, envVar: string): string {
  const bin = process.env[envVar] ?? binary
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) {
    const pkg = SERVICES.find((s) => s.binary === binary)?.package ?? binary
    throw new Error(`${binary} binary '${bin}' not found or not runnable (${r.error?.message ?? r.stderr}); install Debian's ${pkg} (apt-get install ${pkg}; npm run test:ci does this) or set ${envVar}`)
  }
  return bin
}

/** How to run one private service process (see serviceProcess). */
export interface ServiceSpec {
  /** The binary's name, for messages. */
  readonly name: string
  /** The command (from serviceBinary()). */
  readonly bin: string
  readonly args: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  /** One readiness probe: true once the service answers as it does when it is up. */
  readonly ready: () => Promise<boolean>
  /** What ready() waits for, for the timeout's message ("answer PING on 10432"). */
  readonly readyWhat: string
  /** Default SERVICE_READY_MS (30 s). */
  readonly readyTimeoutMs?: number
  /** Pause between probes; default 20 ms. */
  readonly pollMs?: number
}

/** One service binary run as a child process: started, probed until ready, stopped, started again. */
export interface ServiceProcess {
  /** Spawn and resolve once ready() holds; throws with the process's output if it exits or times out first. */
  start(): Promise<void>
  /** Send `signal` (default SIGKILL; a paused process is continued first) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Send a signal to the running process (SIGSTOP / SIGCONT for a hung host), if there is one. */
  signal(signal: NodeJS.Signals): void
  /** Everything it wrote to stdout and stderr, over every start. */
  output(): string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * How long a service binary (redis, etcd, nats, prometheus…) may take to come up. A cold start on a
 * loaded 2-core CI box takes seconds, not the tens of milliseconds it takes on a quiet one; bounded,
 * so a binary that never comes up still fails with its output.
 */
export const SERVICE_READY_MS = 30_000

export function serviceProcess(spec: ServiceSpec): ServiceProcess {
  let child: ChildProcess | undefined
  let out = ''
  return {
    async start() {
      const c = spawn(spec.bin, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], env: spec.env ?? process.env })
      child = c
      c.stdout!.on('data', (d) => (out += d))
      c.stderr!.on('data', (d) => (out += d))
      const deadline = Date.now() + (spec.readyTimeoutMs ?? SERVICE_READY_MS)
      while (Date.now() < deadline) {
        if (c.exitCode !== null) throw new Error(`${spec.name} exited with ${c.exitCode}:\n${out}`)
        if (await spec.ready()) return
        await sleep(spec.pollMs ?? 20)
      }
      c.kill('SIGKILL')
      throw new Error(`${spec.name} did not ${spec.readyWhat}:\n${out}`)
    },
    async stop(signal = 'SIGKILL') {
      const c = child
      child = undefined
      if (!c || c.exitCode !== null) return
      const exited = new Promise((r) => c.once('exit', r))
      c.kill('SIGCONT')
      c.kill(signal)
      await exited
    },
    signal(signal) {
      child?.kill(signal)
    },
    output: () => out,
  }
}

/** spec's process, started (see ServiceProcess.start). */
export async function startService(spec: ServiceSpec): Promise<ServiceProcess> {
  const p = serviceProcess(spec)
  await p.start()
  return p
}

/**
 * A readiness probe over one raw TCP connection to 127.0.0.1:`port`: writes `send` (if any) once
 * connected and holds when the first bytes back start with `prefix` (nats-server's INFO line,
 * redis-server's +PONG).
 */
export function tcpAnswers(port: number, prefix: string, send?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(500, () => done(false))
    s.once('error', () => done(false))
    if (send !== undefined) s.once('connect', () => s.write(send))
    s.once('data', (d) => done(d.toString().startsWith(prefix)))
  })
}

/** A readiness probe: GET `url` answers 2xx (and, with `check`, a JSON body it accepts). */
export async function httpReady(url: string, check?: (body: unknown) => boolean): Promise<boolean> {
  try {
    const r = await fetch(url)
    const body = await r.text()
    return r.ok && (check === undefined || check(JSON.parse(body)))
  } catch {
    return false
  }
}
