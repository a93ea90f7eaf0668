/**
 * Route tables: each rule's match (regexes checked against the engine the runtime uses), its
 * action (cluster references checked), per-rule timeouts and retry policy, and its filter
 * overrides (checked against the filter's own schema, references resolved).
 */
import type { ActionIR, ClusterIR, ContentCaptureIR, RolloutIR, FilterOverrideIR, KeyedMatchIR, MatchIR, RouteTableIR, RuleIR, StringMatchIR } from '../ir.js'
import { durationMs, sizeBytes } from '../../shared/units.js'
import { routeRegexProblem } from '../../shared/route-regex.js'
import { filterConfigValidator, validateAt } from '../validate.js'
import type { ResolveContext } from './context.js'
import { below, where, type Located, type SourcePositions } from './positions.js'
import type { MergedConfig, Obj } from './merge.js'
import type { TelemetryIR } from '../ir.js'
import { resolveRetryPolicy } from './retry-policy.js'
import { PRE_ROUTE_FILTER_TYPES } from '../../shared/filter-phases.js'

/** `filterTypes`: every configured filter's name → type, in config order. */
export function resolveRouteTables(config: MergedConfig, filterTypes: ReadonlyMap<string, string>, ctx: ResolveContext): RouteTableIR[] {
  const out: RouteTableIR[] = []
  for (const [name, t] of config.routes) {
    const irPath = ['routeTables', out.length]
    ctx.positions.record(irPath, t)
    const rules = (t.value.rules as Obj[]).map((r, index) => resolveRule(`${name}[${index}]`, r, below(t, 'rules', index), [...irPath, 'rules', index], index, config, filterTypes, ctx))
    out.push({ name, rules })
  }
  return out
}

function resolveRule(defaultName: string, r: Obj, at: Located, irPath: readonly (string | number)[], index: number, config: MergedConfig, filterTypes: ReadonlyMap<string, string>, ctx: ResolveContext): RuleIR {
  ctx.positions.record(irPath, at)
  const m = (r.match ?? {}) as Obj
  const match: MatchIR = {
    ...(m.methods && { methods: m.methods }),
    ...(m.path && { path: stringMatch(m.path, below(at, 'match', 'path'), ctx) }),
    headers: keyedMatches(m.headers, below(at, 'match', 'headers'), true, ctx),
    query: keyedMatches(m.query, below(at, 'match', 'query'), false, ctx),
    ...(m.model && { model: stringMatch(m.model, below(at, 'match', 'model'), ctx) }),
    ...(m.tenant && { tenant: stringMatch(m.tenant, below(at, 'match', 'tenant'), ctx) }),
    ...(m.tenant_labels?.length && { tenantLabels: keyedMatches(m.tenant_labels, below(at, 'match', 'tenant_labels'), false, ctx) }),
    ...(m.claims?.length && { claims: keyedMatches(m.claims, below(at, 'match', 'claims'), false, ctx) }),
  }
  const action = resolveAction(r, at, config, ctx)
  const filterOverrides: Record<string, FilterOverrideIR> = {}
  for (const [fname, o] of Object.entries((r.filter_overrides ?? {}) as Obj)) {
    const type = filterTypes.get(fname)
    if (!type) {
      ctx.report('SY_CFG_UNKNOWN_FILTER', below(at, 'filter_overrides'), `unknown filter '${fname}' (known: ${[...filterTypes.keys()].join(', ') || 'none'})`, fname)
      continue
    }
    if (PRE_ROUTE_FILTER_TYPES.has(type)) {
      ctx.report('SY_CFG_AUTH_PHASE', below(at, 'filter_overrides'), `filter '${fname}' (${type}) runs before routing, so a rule cannot override it; give the listener that needs other auth its own filter`, fname)
      continue
    }
    if (o.disabled) filterOverrides[fname] = { disabled: true }
    else {
      const cfg = below(at, 'filter_overrides', fname, 'config')
      const validator = filterConfigValidator(type)
      if (validator) validateAt(validator, o.config, cfg.doc, [...cfg.at], ctx.diags)
      ctx.positions.record([...irPath, 'filterOverrides', fname, 'config'], cfg)
      filterOverrides[fname] = { config: ctx.secrets.deep(o.config, cfg) }
    }
  }
  return {
    name: r.name ?? defaultName,
    index,
    match,
    action,
    ...(r.timeout !== undefined && { timeoutMs: durationMs(r.timeout) }),
    ...(r.first_token_timeout !== undefined && { firstTokenTimeoutMs: durationMs(r.first_token_timeout) }),
    ...(r.connect_timeout !== undefined && { connectTimeoutMs: durationMs(r.connect_timeout) }),
    ...(r.idle_timeout !== undefined && { idleTimeoutMs: durationMs(r.idle_timeout) }),
    ...(r.model_rewrite !== undefined && { modelRewrite: r.model_rewrite }),
    ...(r.retry_policy !== undefined && { retry: resolveRetryPolicy(r.retry_policy) }),
    ...(r.fallback !== undefined && { fallbackOn: r.fallback.on }),
    streamRecovery: r.stream_recovery,
    filterOverrides,
    ...(r.tracing?.capture_content === true && { contentCapture: resolveContentCapture(r.tracing, below(at, 'tracing'), ctx) }),
  }
}

/** Content attributes are bounded: below 256 B a message cannot say anything, above 256 KiB one span would crowd the export ring. */
const MIN_CONTENT_BYTES = 256
const MAX_CONTENT_BYTES = 256 * 1024

function resolveContentCapture(t: Obj, at: Located, ctx: ResolveContext): ContentCaptureIR {
  const maxBytes = sizeBytes(t.max_content_bytes ?? '8kb')
  if (maxBytes < MIN_CONTENT_BYTES || maxBytes > MAX_CONTENT_BYTES) {
    ctx.report('SY_CFG_TRACING', below(at, 'max_content_bytes'), `max_content_bytes must be between 256b and 256kb (got ${t.max_content_bytes})`)
  }
  return { maxBytes: Math.min(Math.max(maxBytes, MIN_CONTENT_BYTES), MAX_CONTENT_BYTES) }
}

/** Rules that capture content while no `telemetry.tracing` exports spans: the setting does nothing. */
export function contentCaptureWarnings(tables: readonly RouteTableIR[], telemetry: TelemetryIR | undefined, positions: SourcePositions): string[] {
  if (telemetry?.tracing !== undefined) return []
  const out: string[] = []
  tables.forEach((t, ti) => {
    for (const r of t.rules) {
      if (r.contentCapture === undefined) continue
      const rule = positions.locate(['routeTables', ti, 'rules', r.index])
      const at = rule ? `${where(below(rule, 'tracing', 'capture_content'))}: ` : ''
      out.push(`${at}routes.${t.name}.rules[${r.index}]: tracing.capture_content has no effect without telemetry.tracing (no spans are exported)`)
    }
  })
  return out
}

function resolveAction(r: Obj, at: Located, config: MergedConfig, ctx: ResolveContext): ActionIR {
  const clusterRef = (name: string, loc: Located) => {
    if (!config.clusters.has(name)) {
      ctx.report('SY_CFG_UNKNOWN_CLUSTER', loc, `unknown cluster '${name}' (known: ${[...config.clusters.keys()].join(', ') || 'none'})`)
    }
  }
  if (r.cluster !== undefined) {
    clusterRef(r.cluster, below(at, 'cluster'))
    return { kind: 'cluster', cluster: r.cluster }
  }
  if (r.weighted_clusters !== undefined) {
    const wc = r.weighted_clusters as Obj
    ;(wc.clusters as Obj[]).forEach((c, i) => clusterRef(c.name, below(at, 'weighted_clusters', 'clusters', i, 'name')))
    const total = (wc.clusters as Obj[]).reduce((s, c) => s + c.weight, 0)
    if (total === 0) ctx.report('SY_CFG_ZERO_WEIGHT', below(at, 'weighted_clusters', 'clusters'), 'weighted cluster weights sum to 0')
    return {
      kind: 'weighted',
      clusters: (wc.clusters as Obj[]).map((c) => ({ name: c.name, weight: c.weight })),
      ...(wc.hash_on === 'tenant' ? { hashTenant: true } : wc.hash_on && { hashHeader: String(wc.hash_on.header).toLowerCase() }),
      ...(wc.rollout !== undefined && { rollout: resolveRollout(wc.rollout as Obj, wc.clusters as Obj[], below(at, 'weighted_clusters', 'rollout'), ctx) }),
    }
  }
  if (r.fallback !== undefined) {
    const fb = r.fallback as Obj
    ;(fb.clusters as Obj[]).forEach((c, i) => clusterRef(c.cluster, below(at, 'fallback', 'clusters', i, 'cluster')))
    return { kind: 'fallback', clusters: (fb.clusters as Obj[]).map((c) => ({ cluster: c.cluster, ...(c.model_rewrite !== undefined && { modelRewrite: c.model_rewrite }) })) }
  }
  const d = r.direct_response as Obj
  return { kind: 'direct', status: d.status, body: ctx.secrets.secret(d.body, below(at, 'direct_response', 'body')), contentType: d.content_type }
}

/** The canary's two clusters must be two of the split's, with traffic between them to move. */
function resolveRollout(ro: Obj, clusters: Obj[], at: Located, ctx: ResolveContext): RolloutIR {
  const names = clusters.map((c) => c.name as string)
  for (const side of ['candidate', 'baseline'] as const) {
    if (!names.includes(ro[side])) ctx.report('SY_CFG_ROLLOUT', below(at, side), `rollout ${side} '${ro[side]}' is not one of this split's clusters (${names.join(', ')})`)
  }
  if (ro.candidate === ro.baseline) ctx.report('SY_CFG_ROLLOUT', below(at, 'baseline'), `rollout baseline and candidate are both '${ro.candidate}': give two clusters of the split`)
  const pair = clusters.filter((c) => c.name === ro.candidate || c.name === ro.baseline).reduce((s, c) => s + c.weight, 0)
  if (pair === 0 && ro.candidate !== ro.baseline && names.includes(ro.candidate) && names.includes(ro.baseline)) {
    ctx.report('SY_CFG_ROLLOUT', below(at, 'baseline'), `the weights of '${ro.baseline}' and '${ro.candidate}' sum to 0, so the rollout has no traffic to move: give the baseline the pair's weight (e.g. 100) and the candidate 0`)
  }
  const steps = ro.steps as number[]
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1])) ctx.report('SY_CFG_ROLLOUT', below(at, 'steps'), `rollout steps must increase: ${steps.join(', ')}`)
  const g = (ro.guards ?? {}) as Obj
  const er = g.max_error_rate
  return {
    candidate: ro.candidate,
    baseline: ro.baseline,
    steps,
    stepMs: durationMs(ro.step_duration ?? '5m'),
    guards: {
      ...(er !== undefined && { maxErrorRate: typeof er === 'number' ? { absolute: er } : { overBaseline: er.over_baseline } }),
      ...(g.max_p95_latency_ratio !== undefined && { maxP95LatencyRatio: g.max_p95_latency_ratio }),
      ...(g.max_p95_ttft_ratio !== undefined && { maxP95TtftRatio: g.max_p95_ttft_ratio }),
      minRequests: g.min_requests ?? 1,
    },
  }
}

function checkRegex(src: string, loc: Located, ctx: ResolveContext): void {
  const problem = routeRegexProblem(src)
  if (problem) ctx.report('SY_CFG_BAD_REGEX', loc, problem)
}

function stringMatch(m: Obj, loc: Located, ctx: ResolveContext): StringMatchIR {
  const [kind, value] = Object.entries(m)[0] as [StringMatchIR['kind'], string]
  if (kind === 'regex') checkRegex(value, below(loc, 'regex'), ctx)
  return { kind, value }
}

/** Header (names lower-cased) or query matches. */
function keyedMatches(list: Obj[] | undefined, loc: Located, lower: boolean, ctx: ResolveContext): KeyedMatchIR[] {
  return (list ?? []).map((m, i) => {
    const name = lower ? String(m.name).toLowerCase() : String(m.name)
    if (m.regex !== undefined) checkRegex(m.regex, below(loc, i, 'regex'), ctx)
    if (m.exact !== undefined) return { name, kind: 'exact', value: m.exact }
    if (m.regex !== undefined) return { name, kind: 'regex', value: m.regex }
    return { name, kind: m.present ? 'present' : 'absent' }
  })
}

/** `stream_recovery: continue` routes whose later fallback clusters cannot prefill (verified, so safe, but often refused). */
export function continuationWarnings(tables: readonly RouteTableIR[], clusters: readonly ClusterIR[], positions: SourcePositions): string[] {
  const prefill = new Map(clusters.map((c) => [c.name, c.continuationPrefill]))
  const out: string[] = []
  tables.forEach((t, ti) => {
    for (const r of t.rules) {
      if (r.streamRecovery !== 'continue' || r.action.kind !== 'fallback') continue
      const rule = positions.locate(['routeTables', ti, 'rules', r.index])
      r.action.clusters.slice(1).forEach((c, i) => {
        if (prefill.get(c.cluster) !== 'none') return
        const at = rule ? `${where(below(rule, 'fallback', 'clusters', i + 1, 'cluster'))}: ` : ''
        out.push(`${at}routes.${t.name}.rules[${r.index}]: stream_recovery continue falls back to cluster '${c.cluster}', which cannot prefill (continuation_prefill: none): its continuations are checked and discarded when they restart the answer; set continuation_prefill (vllm, deepseek) if the server supports it`)
      })
    }
  })
  return out
}
