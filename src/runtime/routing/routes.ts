/**
 * Route tables: first match wins in config order. For each exact path that appears in the
 * table we precompute the ordered list of rules that could match it (the exact ones plus every
 * prefix/regex/path-less rule accepting that path), so most requests test one or two rules.
 */
import type { RouteTableIR, RuleIR, ActionIR, RolloutIR } from '../../compiler/ir.js'
import { compileMatch, compileStringMatch } from './match.js'
import { compileRetry } from '../build/retry.js'
import { ROLLOUT_FULL, RolloutShare } from '../../shared/shared-state.js'
import { compileConditions } from '../resilience/retry.js'
import type { CompiledAction, CompiledAttemptObservers, CompiledChain, CompiledCluster, CompiledRoute, LocalReply, RequestHead, RouteTable } from '../types.js'
import { fnv1a, mix32 } from '../../shared/string-hash.js'

export interface RouteBuildDeps {
  /** The compiled cluster; with `connectTimeoutMs`, a variant using pools with that connect timeout. */
  readonly cluster: (name: string, connectTimeoutMs?: number) => CompiledCluster
  readonly chainFor: (rule: RuleIR) => CompiledChain
  /** Who hears every route's attempt lifecycle (telemetry); none when undefined. */
  readonly attemptObservers?: CompiledAttemptObservers
  /** The live candidate share of a rollout rule (`<table>/<rule>`); without it a rollout stays at 0 %. */
  readonly rolloutShare?: (key: string) => RolloutShare
}

export function compileRouteTable(ir: RouteTableIR, deps: RouteBuildDeps): RouteTable {
  const routes: CompiledRoute[] = ir.rules.map((rule) => {
    const test = compileMatch(rule.match)
    return {
      name: rule.name,
      index: rule.index,
      test,
      action: compileAction(rule.action, rule.connectTimeoutMs === undefined ? deps : { ...deps, cluster: (name) => deps.cluster(name, rule.connectTimeoutMs) }, `${ir.name}/${rule.name}`),
      chain: deps.chainFor(rule),
      timeoutMs: rule.timeoutMs,
      firstTokenTimeoutMs: rule.firstTokenTimeoutMs,
      idleTimeoutMs: rule.idleTimeoutMs,
      modelRewrite: rule.modelRewrite,
      retry: compileRetry(rule.retry),
      fallbackOn: rule.fallbackOn ? compileConditions(rule.fallbackOn).test : undefined,
      streamRecovery: rule.streamRecovery ?? 'error',
      // Always set (undefined when off), so every route has one shape.
      contentCapture: rule.contentCapture,
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

/** `key`: the rule's `<table>/<rule>`, which names its rollout's shared share. */
function compileAction(a: ActionIR, deps: RouteBuildDeps, key: string): CompiledAction {
  switch (a.kind) {
    case 'cluster':
      return { kind: 'cluster', cluster: deps.cluster(a.cluster) }
    case 'direct':
      return { kind: 'direct', reply: directReply(a.status, a.body, a.contentType) }
    case 'weighted':
      return a.rollout ? compileRollout(a, a.rollout, deps, (deps.rolloutShare ?? (() => RolloutShare.local()))(key)) : compileWeighted(a, deps)
    case 'fallback':
      return { kind: 'fallback', clusters: a.clusters.map((c) => ({ cluster: deps.cluster(c.cluster), modelRewrite: c.modelRewrite })) }
  }
}

export function directReply(status: number, body: string, contentType: string): LocalReply {
  return { status, headers: [['content-type', contentType]], body: Buffer.from(body) }
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

/**
 * A weighted split under a progressive canary. The baseline and candidate share one segment of
 * [0, total) (their weights summed, at the place of the first of them in config order; the other
 * clusters keep theirs); the candidate holds the segment's first `share` and the baseline the rest.
 * A sticky key hashes to one point, so as the share grows a key moves to the candidate once, when
 * the boundary passes it, and never back while the share only grows. The hash is spread over the
 * segment as a fraction (not `% total`), so even a 1 % step of a 1-weight pair is 1 % of the keys.
 */
function compileRollout(a: Extract<ActionIR, { kind: 'weighted' }>, ro: RolloutIR, deps: RouteBuildDeps, share: RolloutShare): CompiledAction {
  const candidate = deps.cluster(ro.candidate)
  const baseline = deps.cluster(ro.baseline)
  const segments: { end: number; cluster?: CompiledCluster; pair?: number }[] = []
  let total = 0
  for (const c of a.clusters) {
    const inPair = c.name === ro.candidate || c.name === ro.baseline
    if (inPair) {
      if (segments.some((s) => s.pair !== undefined)) continue
      const width = a.clusters.filter((x) => x.name === ro.candidate || x.name === ro.baseline).reduce((n, x) => n + x.weight, 0)
      segments.push({ end: (total += width), pair: width })
    } else if (c.weight > 0) segments.push({ end: (total += c.weight), cluster: deps.cluster(c.name) })
  }
  const at = (x: number): CompiledCluster => {
    let start = 0
    for (const s of segments) {
      if (x < s.end || s === segments[segments.length - 1]) {
        if (s.pair === undefined) return s.cluster!
        return (x - start) * ROLLOUT_FULL < s.pair * share.basisPoints ? candidate : baseline
      }
      start = s.end
    }
    return baseline
  }
  const point = (key: string | undefined) => (key === undefined ? Math.random() : mix32(fnv1a(key)) / 0x1_0000_0000) * total
  const header = a.hashHeader
  const pick = header
    ? (head: RequestHead) => at(point(head.headers[header]))
    : a.hashTenant
      ? (head: RequestHead) => at(point(head.identity?.tenant))
      : () => at(Math.random() * total)
  const describe = a.clusters.map((c) => ({ ...c }))
  return { kind: 'weighted', pick, describe, ...(header && { hashHeader: header }), ...(a.hashTenant && { hashTenant: true }) }
}

