/**
 * A Redis Sentinel setup for one test file: a master, one replica and one sentinel (Debian's
 * redis-server run with --sentinel), on free ports. `failover()` kills the master and waits until
 * the sentinel has promoted the replica.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { redisBinary, startRedis, type RedisServer } from './redis-server.js'
import { SERVICE_READY_MS, startService } from './services.js'

export interface RedisSentinel {
  readonly master: string
  readonly sentinels: readonly { host: string; port: number }[]
  readonly primary: RedisServer
  readonly replica: RedisServer
  /** Kills the primary; resolves once the sentinel names the replica as master. */
  failover(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim()

export async function startRedisSentinel(master = 'sy-master'): Promise<RedisSentinel> {
  const primary = await startRedis()
  const replica = await startRedis()
  replica.cli('replicaof', '127.0.0.1', String(primary.port))
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-sentinel-'))
  const conf = join(dir, 'sentinel.conf')
  writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'protected-mode no',
    `sentinel monitor ${master} 127.0.0.1 ${primary.port} 1`,
    `sentinel down-after-milliseconds ${master} 500`,
    `sentinel failover-timeout ${master} 2000`,
    `sentinel parallel-syncs ${master} 1`,
  ].join('\n') + '\n')
  const sentinel = await startService({
    name: 'redis sentinel', bin: redisBinary(), args: [conf, '--sentinel'],
    ready: async () => cli(port, 'sentinel', 'get-master-addr-by-name', master).includes(String(primary.port)),
    readyWhat: `name ${master} at the primary`,
    pollMs: 50,
  })
  // The replica must be in sync before a failover can promote it.
  for (const until = Date.now() + SERVICE_READY_MS; !replica.cli('info', 'replication').includes('master_link_status:up'); ) {
    if (Date.now() > until) throw new Error('replica did not sync with the primary')
    await sleep(50)
  }
  return {
    master,
    sentinels: [{ host: '127.0.0.1', port }],
    primary,
    replica,
    async failover(timeoutMs = 15_000) {
      await primary.kill()
      const until = Date.now() + timeoutMs
      while (!cli(port, 'sentinel', 'get-master-addr-by-name', master).includes(String(replica.port))) {
        if (Date.now() > until) throw new Error(`sentinel did not fail over:\n${sentinel.output().slice(-2000)}`)
        await sleep(100)
      }
    },
    async close() {
      await Promise.all([sentinel.stop(), primary.close(), replica.close()])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
