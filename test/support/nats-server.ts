/**
 * A private nats-server (Debian's nats-server) with JetStream on a free port, for one test file.
 * Its store directory is kept across kill()/start(), so streams, consumers and key-value buckets
 * survive a restart as they would on a real host. A missing binary fails loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { serviceBinary } from './services.js'

export interface NatsServer {
  readonly port: number
  readonly url: string
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>
  /** Start again on the same port with the same store. */
  start(): Promise<void>
  output(): string
  close(): Promise<void>
}

export function natsBinary(): string {
  return serviceBinary('nats-server', 'NATS_SERVER_BIN')
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** True once the server sends its INFO line on a new connection. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(500, () => done(false))
    s.once('error', () => done(false))
    s.once('data', (d) => done(d.toString().startsWith('INFO')))
  })
}

export async function startNats(): Promise<NatsServer> {
  const bin = natsBinary()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nats-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  let out = ''
  const start = async () => {
    const c = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir, '-m', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = c
    c.stdout!.on('data', (d) => (out += d))
    c.stderr!.on('data', (d) => (out += d))
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (c.exitCode !== null) throw new Error(`nats-server exited with ${c.exitCode}:\n${out}`)
      if (await greets(port)) return
      await sleep(20)
    }
    c.kill('SIGKILL')
    throw new Error(`nats-server did not greet on ${port}:\n${out}`)
  }
  const kill = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    const exited = new Promise((r) => c.once('exit', r))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    kill,
    start,
    output: () => out,
    async close() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
