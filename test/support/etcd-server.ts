/**
 * A real etcd (Debian's etcd-server, /usr/bin/etcd) on free ports with a temp data dir, for one
 * test file. stop()/start() keep the data dir and ports, so a test can take etcd away and bring it
 * back. A missing binary fails loudly: these suites must not be skipped silently.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Etcd3 } from 'etcd3'
import { createEtcdClient } from '../../src/control/sources/etcd-client.js'
import { freePort } from './ports.js'
import { BIN, spawnGateway, type SpawnedGateway } from './gateway-process.js'
import { httpReady, serviceBinary, startService } from './services.js'

export interface EtcdServer {
  readonly url: string
  /** A plain client for the test's own reads and writes (closed by close()). */
  readonly client: Etcd3
  output(): string
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

export function etcdBinary(): string {
  return serviceBinary('etcd', 'ETCD_BIN')
}

export async function startEtcd(): Promise<EtcdServer> {
  const bin = etcdBinary()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-etcd-'))
  const clientPort = await freePort()
  const peerPort = await freePort()
  const url = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const server = await startService({
    name: 'etcd', bin,
    args: [
      '--name', 'test', '--data-dir', join(dir, 'data'),
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`, '--initial-cluster-state', 'new',
      '--log-level', 'warn', '--logger', 'zap',
    ],
    env: process.arch === 'arm64' ? { ...process.env, ETCD_UNSUPPORTED_ARCH: 'arm64' } : process.env,
    ready: () => httpReady(`${url}/health`, (b) => (b as { health?: string }).health === 'true'),
    readyWhat: `become healthy on ${url}`,
    pollMs: 50,
  })
  const stop = () => server.stop()
  const client = createEtcdClient({ endpoints: [url], callTimeoutMs: 3000 })
  return {
    url,
    client,
    output: server.output,
    stop,
    start: () => server.start(),
    async close() {
      client.close()
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export type EtcdGateway = SpawnedGateway

/**
 * `switchyard run --etcd … --prefix …` as a child process (the config's admin port must be
 * `adminPort`, or pass `--admin-port`). Resolves when /ready answers 200.
 */
export function startEtcdGateway(args: string[], opts: { adminPort: number; readyTimeoutMs?: number; env?: Record<string, string> }): Promise<EtcdGateway> {
  return spawnGateway(['run', ...args], opts)
}

/** Runs `switchyard <args>` to completion. */
export function runCli(args: string[], env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}
