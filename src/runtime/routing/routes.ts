/**
 * Route tables: first match wins in config order. For each exact path that appears in the
 * table we precompute the ordered list of rules that could match it (the exact ones plus every
 * prefix/regex/path-less rule accepting that path), so most requests test one or two rules.
 */
import type { RouteTableIR, RuleIR, ActionIR } from '../../compiler/ir.js'
import { compileMatch, compileStringMatch } from './match.js'
import { compileRetry } from '../build/retry.js'
import { compileConditions } from '../resilience/retry.js'
import type { CompiledAction, CompiledAttemptObservers, CompiledChain, CompiledCluster, CompiledRoute, LocalReply, RequestHead, RouteTable } from '../types.js'

export interface RouteBuildDeps {
  /** The compiled cluster; with `connectTimeoutMs`, a variant using pools with that connect timeout. */
  readonly cluster: (name: string, connectTimeoutMs?: number) => CompiledCluster
  readonly chainFor: (rule: RuleIR) => CompiledChain
  /** Who hears every route's attempt lifecycle (telemetry); none when undefined. */
  readonly attemptObservers?: CompiledAttemptObservers
}

export function compileRouteTable(ir: RouteTableIR, deps: RouteBuildDeps): RouteTable {
  const routes: CompiledRoute[] = ir.rules.map((rule) => {
    const test = compileMatch(rule.match)
    return {
      name: rule.name,
      index: rule.index,
      test,
      action: compileAction(rule.action, rule.connectTimeoutMs === undefined ? deps : { ...deps, cluster: (name) => deps.cluster(name, rule.connectTimeoutMs) }),
      chain: deps.chainFor(rule),
      timeoutMs: rule.timeoutMs,
      firstTokenTimeoutMs: rule.firstTokenTimeoutMs,
      idleTimeoutMs: rule.idleTimeoutMs,
      modelRewrite: rule.modelRewrite,
      retry: compileRetry(rule.retry),
      fallbackOn: rule.fallbackOn ? compileConditions(rule.fallbackOn).test : undefined,
      streamRecovery: rule.streamRecovery ?? 'error',
      ...(deps.attemptObservers && { attemptObservers: deps.attemptObservers }),
    }
  })
  const byExactPath = new Map<string, CompiledRoute[]>()
  for (const rule of ir.rules) {
    if (rule.match.path?.kind !== 'exact') continue
    const p = rule.match.path.value
    if (byExactPath.has(p)) continue
    byExactPath.set(p, routes.filter((_, i) => pathCouldMatch(ir.rules[i], p)))
  }
  const rest = routes.filter((_, i) => ir.rules[i].match.path?.kind !== 'exact')
  // Rules that name identities, tested without those conditions (built once; used only on a 404).
  const withoutIdentity = ir.rules
    .filter((r) => r.match.tenant !== undefined || (r.match.tenantLabels?.length ?? 0) > 0 || (r.match.claims?.length ?? 0) > 0)
    .map((r) => compileMatch({ ...r.match, tenant: undefined, tenantLabels: [], claims: [] }))
  return {
    name: ir.name,
    routes,
    servesOtherIdentities(head: RequestHead): boolean {
      return withoutIdentity.some((test) => test(head))
    },
    match(head: RequestHead): CompiledRoute | undefined {
      const candidates = byExactPath.get(head.path) ?? rest
      for (let i = 0; i < candidates.length; i++) if (candidates[i].test(head)) return candidates[i]
      return undefined
    },
  }
}

function pathCouldMatch(rule: RuleIR, path: string): boolean {
  const m = rule.match.path
  return m === undefined || compileStringMatch(m)(path)
}

function compileAction(a: ActionIR, deps: RouteBuildDeps): CompiledAction {
  switch (a.kind) {
    case 'cluster':
      return { kind: 'cluster', cluster: deps.cluster(a.cluster) }
    case 'direct':
      return { kind: 'direct', reply: directReply(a.status, a.body, a.contentType) }
    case 'weighted':
      return compileWeighted(a, deps)
    case 'fallback':
      return { kind: 'fallback', clusters: a.clusters.map((c) => ({ cluster: deps.cluster(c.cluster), modelRewrite: c.modelRewrite })) }
  }
}

export function directReply(status: number, body: string, contentType: string): LocalReply {
  return { status, headers: [['content-type', contentType]], body: Buffer.from(body) }
}

/** FNV-1a, 32 bit: stable across processes and workers, so a sticky key maps the same everywhere. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

function compileWeighted(a: Extract<ActionIR, { kind: 'weighted' }>, deps: RouteBuildDeps): CompiledAction {
  const live = a.clusters.filter((c) => c.weight > 0)
  const clusters = live.map((c) => deps.cluster(c.name))
  const cumulative: number[] = []
  let total = 0
  for (const c of live) cumulative.push((total += c.weight))
  const at = (x: number): CompiledCluster => {
    for (let i = 0; i < cumulative.length; i++) if (x < cumulative[i]) return clusters[i]
    return clusters[clusters.length - 1]
  }
  const header = a.hashHeader
  const pick = header
    ? (head: RequestHead) => {
        const key = head.headers[header]
        return at(key === undefined ? Math.random() * total : fnv1a(key) % total)
      }
    : a.hashTenant
      ? (head: RequestHead) => {
          // Identity is resolved before routing, so the tenant is known when the variant is picked.
          const tenant = head.identity?.tenant
          return at(tenant === undefined ? Math.random() * total : fnv1a(tenant) % total)
        }
      : () => at(Math.random() * total)
  return { kind: 'weighted', pick, describe: a.clusters.map((c) => ({ ...c })), ...(header && { hashHeader: header }), ...(a.hashTenant && { hashTenant: true }) }
}
