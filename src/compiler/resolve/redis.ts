/**
 * The `redis` section: where global limits and budgets keep their state. The password (its own
 * field or the URL's userinfo) is a secret: resolved here, declared so the runtime scrubs it, and
 * never shown by /config (effective.ts masks it).
 */
import type { RedisIR } from '../ir.js'
import { durationMs } from '../../shared/units.js'
import type { ResolveContext } from './context.js'
import { below } from './positions.js'
import type { MergedConfig } from './merge.js'

export function resolveRedis(config: MergedConfig, ctx: ResolveContext): RedisIR | undefined {
  const r = config.redis
  if (!r) return undefined
  ctx.positions.record(['redis'], r)
  const v = r.value
  const password = v.password === undefined ? undefined : ctx.secrets.text(v.password, below(r, 'password'))
  const url = v.url === undefined ? undefined : ctx.secrets.text(v.url, below(r, 'url'))
  if (password !== undefined) ctx.secrets.declare([password])
  if (url !== undefined) {
    try {
      const u = new URL(url)
      if (u.password !== '') ctx.secrets.declare([u.password, decodeURIComponent(u.password)])
    } catch {
      ctx.report('SY_CFG_BAD_URL', below(r, 'url'), 'redis.url is not a URL (redis://host:port[/db])')
    }
  }
  return {
    ...(url !== undefined && { url }),
    ...(v.cluster !== undefined && { cluster: v.cluster.map((n: { host: string; port: number }) => ({ host: n.host, port: n.port })) }),
    ...(v.sentinel !== undefined && { sentinel: { master: v.sentinel.master, nodes: v.sentinel.nodes.map((n: { host: string; port: number }) => ({ host: n.host, port: n.port })) } }),
    ...(password !== undefined && { password }),
    tls: v.tls === true || (url?.startsWith('rediss://') ?? false),
    keyPrefix: v.key_prefix ?? 'sy:',
    commandTimeoutMs: durationMs(v.command_timeout ?? '50ms'),
  }
}

/**
 * Budgets and `scope: global` limits keep their state in Redis: without a `redis` block they
 * cannot work, so each is a located error rather than a limit that silently never holds.
 */
export function reportRedisNeeds(config: MergedConfig, redis: RedisIR | undefined, ctx: ResolveContext): void {
  if (redis !== undefined) return
  const why = 'needs the top-level redis block (e.g. redis: { url: "redis://127.0.0.1:6379" })'
  for (const kind of ['tenants', 'keys'] as const) {
    for (const [name, t] of config[kind]) {
      if (t.value.budget !== undefined) ctx.report('SY_CFG_NEEDS_REDIS', below(t, 'budget'), `${kind === 'tenants' ? 'tenant' : 'key'} '${name}': a budget ${why}: spend is kept in Redis`)
    }
  }
  for (const [name, f] of config.filters) {
    if (f.value.type === 'rate_limit' && f.value.config?.scope === 'global') {
      ctx.report('SY_CFG_NEEDS_REDIS', below(f, 'config', 'scope'), `filter '${name}': scope: global ${why}; or use scope: local`)
    }
  }
}
