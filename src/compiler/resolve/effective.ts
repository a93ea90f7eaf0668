/**
 * The effective config that admin `/config` and `validate` show: the merged documents with schema
 * defaults filled in, secrets shown as their references and literal credentials masked. Key
 * hashes are masked too: a hash is not the key, but it is all an offline guesser would need.
 */
import type { SnapshotIR } from '../ir.js'
import { MASK, redactConfig } from '../credentials.js'
import type { MergedConfig } from './merge.js'

export function effectiveConfig(config: MergedConfig, admin: SnapshotIR['admin']): unknown {
  return redactConfig({
    admin: { address: admin.address, port: admin.port, allowed_hosts: admin.allowedHosts, ...(config.admin?.value.token !== undefined && { token: config.admin.value.token }) },
    runtime: config.runtime?.value ?? { drain_timeout: '30s' },
    telemetry: config.telemetry?.value ?? { metrics: { enabled: true } },
    listeners: [...config.listeners.values()].map((l) => l.value),
    routes: [...config.routes.values()].map((l) => l.value),
    clusters: [...config.clusters.values()].map((l) => l.value),
    filters: [...config.filters.values()].map((l) => l.value),
    tenants: [...config.tenants.values()].map((l) => l.value),
    keys: [...config.keys.values()].map((l) => (l.value.hash === undefined ? l.value : { ...l.value, hash: MASK })),
    ...(config.redis && { redis: { key_prefix: 'sy:', command_timeout: '50ms', tls: false, ...config.redis.value } }),
    ...(config.prices && { prices: config.prices.value }),
    ...(config.log && { log: config.log.value }),
    ...(config.batches && { batches: config.batches.value }),
    ...(config.models.size > 0 && { models: [...config.models.values()].map((l) => l.value) }),
  })
}
