/** Clusters: endpoints bound to pooled connections and stats from the stores, plus an LB and a provider. */
import type { ClusterIR } from '../../compiler/ir.js'
import type { CompiledCluster, CompiledEndpoint, ProviderAdapter, Stores } from '../types.js'
import { createClusterLoadBalancer } from '../lb/index.js'
import { LatencyState } from '../lb/least-latency.js'
import { createEndpointGuard } from '../resilience/endpoint-guard.js'
import { createMockProvider } from '../providers/mock.js'
import { createHttpProvider } from '../upstream/forward.js'
import { credentialHeaders } from '../upstream/targets.js'
import { compileRetry } from './retry.js'
import { withEmbeddingBatching } from '../upstream/embedding-batcher.js'
import { grpcChannels } from '../providers/kserve/grpc-channels.js'

export function poolKey(c: ClusterIR, origin: string, connections: number): string {
  const base = `${origin}|c${connections}|k${c.pool.keepAliveMs}|t${c.connectTimeoutMs}`
  if (c.kserve !== undefined) return `${base}|grpc${JSON.stringify(c.kserve)}`
  return c.pool.protocol === 'http2' ? `${base}|h2s${c.pool.maxConcurrentStreams}` : base
}

/**
 * Connections per endpoint pool in one worker. `max_connections` is for the whole process; pools
 * are per worker and endpoint, so it is split evenly over both (at least one connection each —
 * a cap below endpoints × workers is rounded up to that).
 */
export function poolConnections(c: ClusterIR, workers: number): number {
  const max = c.limits.maxConnections
  if (max === undefined) return c.pool.connections
  return Math.min(c.pool.connections, Math.max(1, Math.floor(max / (Math.max(1, c.endpoints.length) * Math.max(1, workers)))))
}

export function compileCluster(c: ClusterIR, stores: Stores, poolKeys: string[]): CompiledCluster {
  const remote = c.provider !== 'mock'
  const clusterStats = stores.clusterStats(c.name)
  const connections = poolConnections(c, stores.workers)
  const endpoints: CompiledEndpoint[] = c.endpoints.map((e) => {
    let pool
    if (remote) {
      const key = poolKey(c, e.origin, connections)
      pool = stores.pools.acquire(key, e.origin, {
        connections, keepAliveMs: c.pool.keepAliveMs, connectTimeoutMs: c.connectTimeoutMs, protocol: c.pool.protocol, maxConcurrentStreams: c.pool.maxConcurrentStreams,
        ...(c.kserve !== undefined && { create: grpcChannels(c, c.kserve, e.origin) }),
      })
      poolKeys.push(key)
    }
    const key = `${c.name}|${e.url}`
    return {
      url: e.url,
      name: e.name,
      key,
      weight: e.weight,
      basePath: e.basePath,
      pool,
      origin: e.origin,
      baseHeaders: credentialHeaders(c, e.apiKey, e.basicAuth),
      hasCredentials: e.apiKey !== undefined || e.basicAuth !== undefined,
      stats: stores.endpointStats(key, clusterStats),
    }
  })
  const direct: ProviderAdapter = c.provider === 'mock' ? createMockProvider(c) : createHttpProvider(c)
  const provider = c.embeddingBatching !== undefined ? withEmbeddingBatching(direct, c.embeddingBatching) : direct
  const latency = c.lb === 'least_latency' ? stores.lbState(`latency|${c.name}|${JSON.stringify(c.leastLatency)}`, () => new LatencyState(c.leastLatency)) : undefined
  const guard = createEndpointGuard(c, endpoints, stores, latency)
  return { name: c.name, limits: c.limits, panicThreshold: c.panicThreshold, loadHeader: c.dynamicWeights?.header, connectTimeoutMs: c.connectTimeoutMs, endpoints, lb: createClusterLoadBalancer(c, endpoints, stores, latency, guard), guard, provider, timeoutMs: c.timeoutMs, firstTokenTimeoutMs: c.firstTokenTimeoutMs, idleTimeoutMs: c.idleTimeoutMs, modelMap: c.modelMap, continuationPrefill: c.continuationPrefill ?? 'none', stats: clusterStats, poolConnections: connections, retry: compileRetry(c.retry) }
}
