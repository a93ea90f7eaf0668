/**
 * Private redis-server processes (Debian's redis-server) on free ports, for one test file: a
 * standalone server, or a 3-master Redis Cluster built with `redis-cli --cluster create`.
 * Nothing is persisted except a cluster node's nodes.conf, so a killed node restarted with
 * start() rejoins its cluster with the same slots. A missing binary fails loudly.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bindable, freePort } from './ports.js'
import { SERVICE_READY_MS, serviceBinary, startService, tcpAnswers } from './services.js'

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** SIGKILL (no goodbye to clients) and wait for the exit. */
  kill(): Promise<void>
  /** Start again on the same port (and, for a cluster node, the same node identity). */
  start(): Promise<void>
  /** SIGSTOP / SIGCONT: the server keeps its connections but answers nothing, like a hung host. */
  pause(): void
  resume(): void
  /** Runs a redis-cli command against this server and returns its output. */
  cli(...args: string[]): string
  close(): Promise<void>
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[]
  readonly seeds: readonly { host: string; port: number }[]
  /** The node serving `key`'s slot. */
  nodeFor(key: string): RedisServer
  /** Until every node reports cluster_state:ok again (after a restart). */
  waitHealthy(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export function redisBinary(): string {
  return serviceBinary('redis-server', 'REDIS_SERVER_BIN')
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function startServer(extra: string[], opts: { cluster?: boolean } = {}): Promise<RedisServer> {
  const bin = redisBinary()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'))
  let port = await freePort()
  // A cluster node also listens on port + 10000 (the cluster bus).
  while (opts.cluster && !(await bindable(port + 10000))) port = await freePort()
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', '--loglevel', 'warning', '--daemonize', 'no',
    ...(opts.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000'] : []),
    ...extra,
  ]
  const server = await startService({
    name: 'redis-server', bin, args,
    ready: () => tcpAnswers(port, '+PONG', 'PING\r\n'),
    readyWhat: `answer PING on ${port}`,
  })
  const kill = () => server.stop()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start: () => server.start(),
    pause: () => server.signal('SIGSTOP'),
    resume: () => server.signal('SIGCONT'),
    cli: (...a: string[]) => spawnSync('redis-cli', ['-p', String(port), ...a], { encoding: 'utf8' }).stdout.trim(),
    async close() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A standalone redis-server for one test file. */
export function startRedis(): Promise<RedisServer> {
  return startServer([])
}

/** Three masters, no replicas, every slot covered; resolves once all nodes say cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = []
  for (let i = 0; i < 3; i++) nodes.push(await startServer([], { cluster: true }))
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' })
  if (create.status !== 0) {
    await Promise.all(nodes.map((n) => n.close()))
    throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`)
  }
  const waitHealthy = async (timeoutMs = SERVICE_READY_MS) => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (nodes.every((n) => /cluster_state:ok/.test(n.cli('cluster', 'info')))) return
      await sleep(50)
    }
    throw new Error(`cluster not healthy after ${timeoutMs} ms:\n${nodes.map((n) => n.cli('cluster', 'info')).join('\n')}`)
  }
  await waitHealthy()
  return {
    nodes,
    seeds: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    nodeFor(key) {
      const slot = Number(nodes[0].cli('cluster', 'keyslot', key))
      const map = nodes[0].cli('cluster', 'slots').split('\n')
      // `cluster slots` lists: start, end, ip, port, id for each range.
      for (let i = 0; i + 3 < map.length; i++) {
        const start = Number(map[i])
        const end = Number(map[i + 1])
        if (Number.isInteger(start) && Number.isInteger(end) && map[i + 2] === '127.0.0.1' && slot >= start && slot <= end) {
          const port = Number(map[i + 3])
          const n = nodes.find((x) => x.port === port)
          if (n) return n
        }
      }
      throw new Error(`no node serves slot ${slot}`)
    },
    waitHealthy,
    async close() {
      await Promise.all(nodes.map((n) => n.close()))
    },
  }
}
