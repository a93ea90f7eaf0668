// Child processes of a bench run. Every child is registered here so that any way out of the run (normal end, an
// exception, Ctrl-C, SIGTERM) takes them all down; a leaked nginx or gateway would skew the next run.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'

export interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly pid: number
  /** Last few KB of stdout+stderr, for error messages when a child dies or never gets ready. */
  output(): string
  readonly exited: Promise<number | null>
}

const live = new Set<Child>()

export function startChild(name: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
  let tail = ''
  const keep = (b: Buffer) => { tail = (tail + b.toString()).slice(-4000) }
  proc.stdout!.on('data', keep)
  proc.stderr!.on('data', keep)
  const child = register(name, proc, () => tail)
  if (child === undefined) throw new Error(`${name}: failed to spawn ${cmd}`)
  return child
}

/**
 * Registers a process spawned elsewhere, which reads its own output (wrk: its whole report), so that the exit
 * hooks take it down too: a `wrk -d 3600s` left behind by a Ctrl-C'd soak would load the box for an hour. A
 * process that failed to spawn is not registered (its 'error' event says why).
 */
export function trackChild(name: string, proc: ChildProcess): Child | undefined {
  return register(name, proc, () => '')
}

function register(name: string, proc: ChildProcess, output: () => string): Child | undefined {
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  if (proc.pid === undefined) return undefined
  const child: Child = { name, proc, pid: proc.pid, output, exited }
  live.add(child)
  void exited.then(() => live.delete(child))
  return child
}

/** SIGTERM, then SIGKILL for whatever is still alive after `graceMs`. */
export async function stopChild(child: Child, graceMs = 3000): Promise<void> {
  if (!live.has(child)) return
  child.proc.kill('SIGTERM')
  const done = await Promise.race([child.exited.then(() => true), sleep(graceMs).then(() => false)])
  if (!done) { child.proc.kill('SIGKILL'); await child.exited }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)))
}

let hooked = false
/** Install exit hooks once. `process.on('exit')` must stay synchronous, hence SIGKILL there. */
export function killChildrenOnExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => { for (const c of live) c.proc.kill('SIGKILL') })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\nbench: ${sig}, stopping children`)
      void stopAll().finally(() => process.exit(130))
    })
  }
}

/** Ports chosen by the kernel. Released before use, so a tiny race is possible; fine on a bench box. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => resolve(s))
  })))
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/**
 * Poll `url` until it answers `expectStatus`. Rejects with the child's output if the child exits first or the
 * deadline passes, so a broken config shows its own error instead of "timeout".
 */
export async function waitReady(child: Child, url: string, opts: { method?: 'GET' | 'POST', body?: string, expectStatus?: number, timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000)
  const expect = opts.expectStatus ?? 200
  let last = ''
  let exitCode: number | null | undefined
  void child.exited.then((code) => { exitCode = code })
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`${child.name} exited (code ${exitCode}) before it was ready:\n${child.output()}`)
    try {
      const r = await request(url, { method: opts.method ?? 'GET', body: opts.body, headers: opts.body ? { 'content-type': 'application/json' } : {} })
      await r.body.dump()
      if (r.statusCode === expect) return
      last = `status ${r.statusCode}`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(100)
  }
  throw new Error(`${child.name} not ready at ${url} (${last}):\n${child.output()}`)
}
