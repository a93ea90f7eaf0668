/**
 * A private nats-server (Debian's nats-server) with JetStream on a free port, for one test file.
 * Its store directory is kept across kill()/start(), so streams, consumers and key-value buckets
 * survive a restart as they would on a real host. A missing binary fails loudly.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { serviceBinary, startService, tcpAnswers } from './services.js'

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

export async function startNats(): Promise<NatsServer> {
  const bin = natsBinary()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nats-'))
  const port = await freePort()
  const server = await startService({
    name: 'nats-server', bin,
    args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir, '-m', '0'],
    // Up once it sends its INFO line on a new connection.
    ready: () => tcpAnswers(port, 'INFO'),
    readyWhat: `greet on ${port}`,
  })
  const kill = () => server.stop()
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    kill,
    start: () => server.start(),
    output: server.output,
    async close() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
