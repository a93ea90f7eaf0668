/**
 * Gateway processes ("hosts") started from one config, each on a listener port of its own: the
 * setup of the suites that test what hosts share through Redis (cache tiers, sessions) and, with
 * one host, of the suites that need one gateway process in front of their upstreams. The builder
 * writes what differs per host (admin port, listener port) and the shared Redis; the suite gives
 * what it tests (filters, tenants, the route table `main`, clusters).
 *
 * @example
 * const hosts = await startGatewayHosts({ redis: { url: redis.url, keyPrefix: 'sy:', commandTimeout: '1s' },
 *   listenerFilters: ['answers'], config: `filters: …\nroutes:\n  - { name: main, … }\nclusters: …` })
 * after(() => stopGatewayHosts(hosts))
 * const client = new OpenAI({ apiKey: 'k', baseURL: `${hosts[1].url}/v1` })
 */
import { startGateway, type GatewayProcess } from './gateway-process.js'
import { freePort } from './ports.js'

export interface GatewayHostsSpec {
  /** How many gateway processes; default 2. */
  readonly hosts?: number
  /** Worker threads per process (`--workers`); default 1. */
  readonly workers?: number
  readonly readyTimeoutMs?: number
  /** The Redis every host names in its top-level `redis` section, if any. */
  readonly redis?: { readonly url: string; readonly keyPrefix: string; readonly commandTimeout: string }
  /** The filters of the one listener (`api`, on route table `main`), in order. */
  readonly listenerFilters: readonly string[]
  /** The rest of the config, as YAML: filters, tenants, routes (with the table `main`), clusters. */
  readonly config: string
}

export interface GatewayHost {
  /** The running process; a new one after restart(). */
  readonly gw: GatewayProcess
  /** The listener's port (kept across restart()). */
  readonly port: number
  /** The listener's origin, `http://127.0.0.1:<port>`. */
  readonly url: string
  /** Stop the process (SIGTERM, drained) and start it again on the same config and listener port. */
  restart(): Promise<void>
}

/** The whole config of one host. */
export function hostConfig(spec: GatewayHostsSpec, port: number, admin: number): string {
  const redis = spec.redis ? `redis: { url: "${spec.redis.url}", key_prefix: "${spec.redis.keyPrefix}", command_timeout: ${spec.redis.commandTimeout} }\n` : ''
  return `
admin: { port: ${admin} }
${redis}listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [${spec.listenerFilters.join(', ')}] }
${spec.config.replace(/^\n/, '')}`
}

/** `spec.hosts` gateway processes, started one after another; resolves when every one is ready. */
export async function startGatewayHosts(spec: GatewayHostsSpec): Promise<GatewayHost[]> {
  const hosts: GatewayHost[] = []
  try {
    for (let i = 0; i < (spec.hosts ?? 2); i++) hosts.push(await startHost(spec))
  } catch (e) {
    await stopGatewayHosts(hosts)
    throw e
  }
  return hosts
}

/** Stops every host still running (after() of a suite; an already-stopped one is skipped). */
export async function stopGatewayHosts(hosts: readonly (GatewayHost | undefined)[] | undefined): Promise<void> {
  for (const h of hosts ?? []) await h?.gw.stop()
}

async function startHost(spec: GatewayHostsSpec): Promise<GatewayHost> {
  const port = await freePort()
  const start = () => startGateway((admin) => hostConfig(spec, port, admin), { workers: spec.workers, readyTimeoutMs: spec.readyTimeoutMs })
  let gw = await start()
  return {
    get gw() {
      return gw
    },
    port,
    url: `http://127.0.0.1:${port}`,
    async restart() {
      await gw.stop()
      gw = await start()
    },
  }
}
