/**
 * Semantic pass: merge validated documents by kind, check names and references, resolve secrets,
 * and lower everything to the plain-data SnapshotIR. Problems are appended to `diags`.
 */
import type { Diagnostic, DiagnosticCode } from './diagnostics.js'
import { formatPath } from './diagnostics.js'
import { positionOf, type LoadedDoc } from './load.js'
import { PLACEHOLDER, referenceProblem, resolveRefs, type Reference, type SecretMode } from './secrets.js'
import { collectSecrets, forEachString, redactConfig, redactUrl, urlCredentials } from './credentials.js'
import { durationMs, sizeBytes } from '../shared/units.js'
import { PROVIDER_PRESETS } from './provider-presets.js'
import { filterConfigValidator, validateAt } from './validate.js'
import { routeRegexProblem } from '../shared/route-regex.js'
import { isLoopback } from '../shared/loopback.js'
import type {
  ActionIR, ClusterIR, ContinuationPrefill, EndpointIR, FilterIR, FilterOverrideIR, KeyedMatchIR, ListenerIR, MatchIR,
  RetryPolicyIR, RouteTableIR, RuleIR, SnapshotIR, StringMatchIR,
} from './ir.js'

type Segs = (string | number)[]
interface Located<T> { readonly value: T; readonly doc: LoadedDoc; readonly at: Segs }
type Obj = Record<string, any>

const KINDS = ['listeners', 'routes', 'clusters', 'filters'] as const

export interface ResolveOptions {
  readonly env: NodeJS.ProcessEnv
  readonly secrets: SecretMode
}

/** The strings resolveDocs passes through secret()/resolveText(), by their path in a document. */
function resolvesReferences(at: Segs): boolean {
  const [kind, , a, b, c] = at
  if (kind === 'clusters') return (a === 'endpoints' && (c === 'url' || c === 'api_key')) || (a === 'bedrock' && BEDROCK_SECRETS.has(b as string)) || (a === 'health_check' && b === 'headers')
  if (kind === 'filters') return a === 'config'
  if (kind === 'routes') return a === 'rules' && ((at[4] === 'direct_response' && at[5] === 'body') || (at[4] === 'filter_overrides' && at[6] === 'config'))
  return false
}
const BEDROCK_SECRETS = new Set(['access_key_id', 'secret_access_key', 'session_token'])
/** The same, for the message about a reference anywhere else. */
const RESOLVING_FIELDS = 'endpoint url and api_key, bedrock credentials, health_check headers, filter configs and direct_response bodies'

export interface Resolution {
  readonly body: Omit<SnapshotIR, 'version' | 'source'>
  /** Every reference the config holds, in order of appearance (duplicates included). */
  readonly needs: readonly Reference[]
}

export function resolveDocs(docs: readonly LoadedDoc[], diags: Diagnostic[], opts: ResolveOptions): Resolution {
  const report = (code: DiagnosticCode, loc: { doc: LoadedDoc; at: Segs }, message: string, key?: string) => {
    const { line, col } = positionOf(loc.doc, loc.at, key)
    diags.push({ code, source: loc.doc.source, line, col, path: formatPath(key ? [...loc.at, key] : loc.at), message })
  }
  const where = (l: { doc: LoadedDoc; at: Segs }) => {
    const { line, col } = positionOf(l.doc, l.at)
    return `${l.doc.source}:${line}:${col}`
  }

  // Merge by kind, remembering where each object came from.
  const byKind: Record<(typeof KINDS)[number], Map<string, Located<Obj>>> = {
    listeners: new Map(), routes: new Map(), clusters: new Map(), filters: new Map(),
  }
  let admin: Located<Obj> | undefined
  let runtime: Located<Obj> | undefined
  for (const doc of docs) {
    const v = doc.value as Obj
    if (v === null || typeof v !== 'object') continue
    if (v.admin) {
      if (admin) report('SY_CFG_DUPLICATE', { doc, at: ['admin'] }, `duplicate admin section (first defined at ${where(admin)})`)
      else admin = { value: v.admin, doc, at: ['admin'] }
    }
    if (v.runtime) {
      if (runtime) report('SY_CFG_DUPLICATE', { doc, at: ['runtime'] }, `duplicate runtime section (first defined at ${where(runtime)})`)
      else runtime = { value: v.runtime, doc, at: ['runtime'] }
    }
    for (const kind of KINDS) {
      const list = (v[kind] ?? []) as Obj[]
      list.forEach((item, i) => {
        const loc: Located<Obj> = { value: item, doc, at: [kind, i] }
        const first = byKind[kind].get(item.name)
        const singular = kind === 'routes' ? 'route table' : kind.slice(0, -1)
        if (first) report('SY_CFG_DUPLICATE', { doc, at: [kind, i, 'name'] }, `duplicate ${singular} '${item.name}' (first defined at ${where(first)})`)
        else byKind[kind].set(item.name, loc)
      })
    }
  }

  // Values put in by reference, and URL credentials: secrets the runtime scrubs (SnapshotIR.secrets).
  const declared: string[] = []
  const needs: Reference[] = []
  const resolveText = (text: string, loc: { doc: LoadedDoc; at: Segs }): string | undefined => {
    const r = resolveRefs(text, { baseDir: loc.doc.baseDir, env: opts.env, mode: opts.secrets })
    if ('error' in r) {
      report('SY_CFG_SECRET', loc, r.error)
      return undefined
    }
    declared.push(...r.refs)
    needs.push(...r.needs)
    return r.value
  }
  const secret = (text: string, loc: { doc: LoadedDoc; at: Segs }): string => resolveText(text, loc) ?? ''
  const deepSecrets = (value: unknown, loc: { doc: LoadedDoc; at: Segs }): any => {
    if (typeof value === 'string') return secret(value, loc)
    if (Array.isArray(value)) return value.map((v, i) => deepSecrets(v, { doc: loc.doc, at: [...loc.at, i] }))
    if (value && typeof value === 'object') {
      const out: Obj = {}
      for (const [k, v] of Object.entries(value)) out[k] = deepSecrets(v, { doc: loc.doc, at: [...loc.at, k] })
      return out
    }
    return value
  }

  const adminIR = {
    address: admin?.value.address ?? '127.0.0.1',
    port: admin?.value.port ?? 9901,
    allowedHosts: ((admin?.value.allowed_hosts ?? []) as string[]).map((h) => h.toLowerCase()),
  }
  if (admin && !isLoopback(adminIR.address)) {
    // The admin API has no authentication yet: a non-loopback bind would hand /config to the network.
    report('SY_CFG_ADMIN_EXPOSED', { doc: admin.doc, at: ['admin', 'address'] }, `${JSON.stringify(adminIR.address)} is not a loopback address: the admin API would be exposed without authentication; a non-loopback bind needs admin.token, which is not available yet (bind 127.0.0.1 and reach it through a tunnel, or through a proxy whose Host is listed in admin.allowed_hosts)`)
  }
  const drainTimeoutMs = durationMs(runtime?.value.drain_timeout ?? '30s')
  const requireNative = runtime?.value.require_native === true

  // Filters
  const filters: FilterIR[] = []
  for (const [name, f] of byKind.filters) {
    filters.push({ name, type: f.value.type, config: deepSecrets(f.value.config ?? {}, { doc: f.doc, at: [...f.at, 'config'] }) })
  }
  const filterTypes = new Map(filters.map((f) => [f.name, f.type]))

  // Clusters
  const clusters: ClusterIR[] = []
  for (const [name, c] of byKind.clusters) {
    const v = c.value
    const preset = PROVIDER_PRESETS[v.provider as keyof typeof PROVIDER_PRESETS]
    const region: string = v.bedrock.region
    const endpoints: EndpointIR[] = []
    const configured = (v.endpoints as Obj[]).length > 0
    const list: Obj[] = configured
      ? v.endpoints
      : preset.defaultUrl
        ? [{ url: typeof preset.defaultUrl === 'string' ? preset.defaultUrl : preset.defaultUrl(region), weight: 1 }]
        : []
    list.forEach((e, i) => {
      const at = [...c.at, 'endpoints', i]
      const loc = { doc: c.doc, at: configured ? [...at, 'url'] : [...c.at, 'provider'] }
      let written = configured ? resolveText(e.url, loc) : (e.url as string)
      if (written === undefined) return
      let url: URL
      try {
        url = new URL(written)
      } catch {
        // Unresolved, `${env:BASE}/v1` or `http://h:${env:PORT}` cannot be checked here; the gateway host will.
        if (opts.secrets === 'collect' && written !== e.url) url = new URL((written = `http://${PLACEHOLDER}.invalid`))
        else {
          report('SY_CFG_BAD_URL', loc, `invalid URL ${JSON.stringify(redactUrl(written))}`)
          return
        }
      }
      const isMockUrl = url.protocol === 'mock:'
      if (v.provider !== 'mock' && isMockUrl) report('SY_CFG_BAD_URL', loc, `provider '${v.provider}' needs an http(s) URL, got ${JSON.stringify(redactUrl(written))}`)
      const creds = urlCredentials(written, url)
      if (creds) declared.push(...creds.secrets)
      let basePath = isMockUrl ? '' : url.pathname.replace(/\/+$/, '')
      if (basePath === '') basePath = preset.defaultBasePath
      if (v.provider === 'gemini') basePath = basePath.replace(/\/v1beta$/, '')
      const apiKey = e.api_key === undefined ? undefined : secret(e.api_key, { doc: c.doc, at: [...at, 'api_key'] })
      // URL userinfo becomes `authorization: Basic …`, the endpoint's one credential (undici would drop it).
      if (creds && apiKey !== undefined) report('SY_CFG_BAD_URL', loc, `endpoint URL ${JSON.stringify(creds.display)} has credentials and api_key is set too; use one of them`)
      if (creds && v.provider === 'bedrock') report('SY_CFG_BAD_URL', loc, `provider 'bedrock' signs requests with SigV4; remove the credentials from endpoint URL ${JSON.stringify(creds.display)}`)
      const basicAuth = creds && !isMockUrl ? creds.basicAuth : undefined
      // Unresolved, the URL is shown as written (explain), not with placeholders.
      const display = creds?.display ?? (opts.secrets === 'collect' && configured ? redactUrl(e.url) : written)
      const healthPath = v.health_check && v.health_check.path === undefined ? defaultHealthPath(v.provider, preset.protocol, basePath, v.azure.api_version) : undefined
      endpoints.push({
        url: display, name: e.name ?? String(i), origin: isMockUrl ? display : url.origin, basePath, weight: e.weight ?? 1,
        ...(apiKey !== undefined && { apiKey }), ...(basicAuth !== undefined && { basicAuth }), ...(healthPath !== undefined && { healthPath }),
      })
    })
    if (v.provider === 'mock' && endpoints.length === 0) {
      endpoints.push({ url: `mock://${name}`, name: '0', origin: `mock://${name}`, basePath: '', weight: 1 })
    }
    if (v.health_check && v.health_check.path === undefined && v.provider === 'bedrock') {
      report('SY_CFG_SCHEMA', { doc: c.doc, at: [...c.at, 'health_check'] }, `cluster '${name}': provider 'bedrock' has no unsigned endpoint to check by default; set health_check.path`)
    }
    if (list.length === 0 && v.provider !== 'mock') {
      report('SY_CFG_NO_ENDPOINTS', { doc: c.doc, at: [...c.at, 'provider'] }, `cluster '${name}' with provider '${v.provider}' needs at least one endpoint`)
    }
    if (v.lb === 'weighted' && endpoints.length > 0 && endpoints.every((e) => e.weight === 0)) {
      report('SY_CFG_ZERO_WEIGHT', { doc: c.doc, at: [...c.at, 'endpoints'] }, `endpoint weights of cluster '${name}' sum to 0`)
    }
    const b = v.bedrock as Obj
    const bedrockSecret = (key: string) => (b[key] === undefined ? undefined : secret(b[key], { doc: c.doc, at: [...c.at, 'bedrock', key] }))
    const bedrock = {
      region,
      ...(b.access_key_id !== undefined && { accessKeyId: bedrockSecret('access_key_id') }),
      ...(b.secret_access_key !== undefined && { secretAccessKey: bedrockSecret('secret_access_key') }),
      ...(b.session_token !== undefined && { sessionToken: bedrockSecret('session_token') }),
    }
    if (v.provider === 'bedrock' && (b.access_key_id === undefined || b.secret_access_key === undefined)) {
      report('SY_CFG_SECRET', { doc: c.doc, at: [...c.at, 'provider'] }, `cluster '${name}': provider 'bedrock' needs bedrock.access_key_id and bedrock.secret_access_key (e.g. \${env:AWS_ACCESS_KEY_ID})`)
    }
    clusters.push({
      name,
      provider: v.provider,
      protocol: preset.protocol,
      lb: v.lb,
      panicThreshold: v.panic_threshold,
      modelMap: v.model_map,
      models: v.models,
      azure: { apiVersion: v.azure.api_version, deployments: v.azure.deployments },
      anthropic: { version: v.anthropic.version, defaultMaxTokens: v.anthropic.default_max_tokens },
      bedrock,
      timeoutMs: durationMs(v.timeout),
      firstTokenTimeoutMs: durationMs(v.first_token_timeout),
      idleTimeoutMs: durationMs(v.idle_timeout),
      ...(v.retry_policy !== undefined && { retry: retryPolicyIR(v.retry_policy) }),
      connectTimeoutMs: durationMs(v.connect_timeout),
      forwardResponseHeaders: (v.forward_response_headers as string[]).map((h) => h.toLowerCase()),
      continuationPrefill: continuationPrefillOf(v.continuation_prefill, v.provider, preset.protocol),
      ringHash: {
        ...(v.ring_hash.hash_on?.header !== undefined && { hashHeader: String(v.ring_hash.hash_on.header).toLowerCase() }),
        ...(v.ring_hash.hash_on?.body_field !== undefined && { hashBodyField: String(v.ring_hash.hash_on.body_field).split('.') }),
        minRingSize: v.ring_hash.min_ring_size,
        maxRingSize: v.ring_hash.max_ring_size,
      },
      leastLatency: { decayMs: durationMs(v.least_latency.decay_time), defaultLatencyMs: durationMs(v.least_latency.default_latency) },
      ...(v.lb === 'dynamic_weighted' && v.dynamic_weights && {
        dynamicWeights: {
          ...(v.dynamic_weights.header !== undefined && { header: String(v.dynamic_weights.header).toLowerCase() }),
          ...(v.dynamic_weights.metrics !== undefined && {
            metrics: { path: v.dynamic_weights.metrics.path, metric: v.dynamic_weights.metrics.metric, timeoutMs: durationMs(v.dynamic_weights.metrics.timeout) },
          }),
          intervalMs: durationMs(v.dynamic_weights.interval),
          smoothing: v.dynamic_weights.smoothing,
          minWeightFraction: v.dynamic_weights.min_weight_fraction,
        },
      }),
      ...(v.endpoint_circuit_breaker && {
        breaker: {
          consecutiveFailures: v.endpoint_circuit_breaker.consecutive_failures,
          failureRatio: v.endpoint_circuit_breaker.failure_ratio,
          windowMs: durationMs(v.endpoint_circuit_breaker.window),
          minRequests: v.endpoint_circuit_breaker.min_requests,
          openMs: durationMs(v.endpoint_circuit_breaker.open_duration),
          maxOpenMs: durationMs(v.endpoint_circuit_breaker.max_open_duration),
          halfOpenProbes: v.endpoint_circuit_breaker.half_open_probes,
        },
      }),
      ...(v.outlier_detection && {
        outlier: {
          consecutive5xx: v.outlier_detection.consecutive_5xx,
          consecutiveGatewayErrors: v.outlier_detection.consecutive_gateway_errors,
          latencyFactor: v.outlier_detection.latency_factor,
          latencyMinSamples: v.outlier_detection.latency_min_samples,
          latencyMinEndpoints: v.outlier_detection.latency_min_endpoints,
          latencyAlpha: v.outlier_detection.latency_alpha,
          baseEjectionMs: durationMs(v.outlier_detection.base_ejection_time),
          maxEjectionMs: durationMs(v.outlier_detection.max_ejection_time),
          maxEjectionPercent: v.outlier_detection.max_ejection_percent,
          defaultCooldownMs: durationMs(v.outlier_detection.rate_limit_cooldown),
          maxCooldownMs: durationMs(v.outlier_detection.max_rate_limit_cooldown),
        },
      }),
      ...(v.health_check && {
        healthCheck: {
          intervalMs: durationMs(v.health_check.interval),
          jitterMs: durationMs(v.health_check.jitter),
          timeoutMs: durationMs(v.health_check.timeout),
          healthyThreshold: v.health_check.healthy_threshold,
          unhealthyThreshold: v.health_check.unhealthy_threshold,
          method: v.health_check.method,
          ...(v.health_check.path !== undefined && { path: v.health_check.path }),
          expectedStatuses: v.health_check.expected_statuses,
          headers: deepSecrets(v.health_check.headers, { doc: c.doc, at: [...c.at, 'health_check', 'headers'] }),
        },
      }),
      limits: {
        maxRequests: v.circuit_breakers.max_requests,
        maxPendingRequests: v.circuit_breakers.max_pending_requests,
        maxRetries: v.circuit_breakers.max_retries,
        ...(v.circuit_breakers.max_connections !== undefined && { maxConnections: v.circuit_breakers.max_connections }),
        ...(c.value.circuit_breakers?.retry_budget !== undefined && {
          retryBudget: { percent: v.circuit_breakers.retry_budget.percent, minRetryConcurrency: v.circuit_breakers.retry_budget.min_retry_concurrency },
        }),
      },
      pool: { connections: v.pool.connections, keepAliveMs: durationMs(v.pool.keep_alive) },
      endpoints,
      mock: {
        ...(v.mock.reply !== undefined && { reply: v.mock.reply }),
        chunks: v.mock.chunks,
        chunkDelayMs: durationMs(v.mock.chunk_delay),
        latencyMs: durationMs(v.mock.latency),
      },
    })
  }

  // Route tables
  const checkRegex = (src: string, loc: { doc: LoadedDoc; at: Segs }) => {
    const problem = routeRegexProblem(src)
    if (problem) report('SY_CFG_BAD_REGEX', loc, problem)
  }
  const stringMatch = (m: Obj | undefined, loc: { doc: LoadedDoc; at: Segs }): StringMatchIR | undefined => {
    if (!m) return undefined
    const [kind, value] = Object.entries(m)[0] as [StringMatchIR['kind'], string]
    if (kind === 'regex') checkRegex(value, { doc: loc.doc, at: [...loc.at, 'regex'] })
    return { kind, value }
  }
  const keyedMatches = (list: Obj[] | undefined, loc: { doc: LoadedDoc; at: Segs }, lower: boolean): KeyedMatchIR[] =>
    (list ?? []).map((m, i) => {
      const name = lower ? String(m.name).toLowerCase() : String(m.name)
      if (m.regex !== undefined) checkRegex(m.regex, { doc: loc.doc, at: [...loc.at, i, 'regex'] })
      if (m.exact !== undefined) return { name, kind: 'exact', value: m.exact }
      if (m.regex !== undefined) return { name, kind: 'regex', value: m.regex }
      return { name, kind: m.present ? 'present' : 'absent' }
    })
  const clusterRef = (name: string, loc: { doc: LoadedDoc; at: Segs }) => {
    if (!byKind.clusters.has(name)) {
      report('SY_CFG_UNKNOWN_CLUSTER', loc, `unknown cluster '${name}' (known: ${[...byKind.clusters.keys()].join(', ') || 'none'})`)
    }
  }

  const routeTables: RouteTableIR[] = []
  for (const [name, t] of byKind.routes) {
    const rules: RuleIR[] = (t.value.rules as Obj[]).map((r, index) => {
      const at = [...t.at, 'rules', index]
      const loc = (...more: Segs) => ({ doc: t.doc, at: [...at, ...more] })
      const m = (r.match ?? {}) as Obj
      const match: MatchIR = {
        ...(m.methods && { methods: m.methods }),
        ...(m.path && { path: stringMatch(m.path, loc('match', 'path')) }),
        headers: keyedMatches(m.headers, loc('match', 'headers'), true),
        query: keyedMatches(m.query, loc('match', 'query'), false),
        ...(m.model && { model: stringMatch(m.model, loc('match', 'model')) }),
      }
      let action: ActionIR
      if (r.cluster !== undefined) {
        clusterRef(r.cluster, loc('cluster'))
        action = { kind: 'cluster', cluster: r.cluster }
      } else if (r.weighted_clusters !== undefined) {
        const wc = r.weighted_clusters as Obj
        ;(wc.clusters as Obj[]).forEach((c, i) => clusterRef(c.name, loc('weighted_clusters', 'clusters', i, 'name')))
        const total = (wc.clusters as Obj[]).reduce((s, c) => s + c.weight, 0)
        if (total === 0) report('SY_CFG_ZERO_WEIGHT', loc('weighted_clusters', 'clusters'), 'weighted cluster weights sum to 0')
        action = {
          kind: 'weighted',
          clusters: (wc.clusters as Obj[]).map((c) => ({ name: c.name, weight: c.weight })),
          ...(wc.hash_on && { hashHeader: String(wc.hash_on.header).toLowerCase() }),
        }
      } else if (r.fallback !== undefined) {
        const fb = r.fallback as Obj
        ;(fb.clusters as Obj[]).forEach((c, i) => clusterRef(c.cluster, loc('fallback', 'clusters', i, 'cluster')))
        action = { kind: 'fallback', clusters: (fb.clusters as Obj[]).map((c) => ({ cluster: c.cluster, ...(c.model_rewrite !== undefined && { modelRewrite: c.model_rewrite }) })) }
      } else {
        const d = r.direct_response as Obj
        action = { kind: 'direct', status: d.status, body: secret(d.body, loc('direct_response', 'body')), contentType: d.content_type }
      }
      const filterOverrides: Record<string, FilterOverrideIR> = {}
      for (const [fname, o] of Object.entries((r.filter_overrides ?? {}) as Obj)) {
        const type = filterTypes.get(fname)
        if (!type) {
          report('SY_CFG_UNKNOWN_FILTER', { doc: t.doc, at: [...at, 'filter_overrides'] }, `unknown filter '${fname}' (known: ${[...filterTypes.keys()].join(', ') || 'none'})`, fname)
          continue
        }
        if (o.disabled) filterOverrides[fname] = { disabled: true }
        else {
          const cfgAt = [...at, 'filter_overrides', fname, 'config']
          const validator = filterConfigValidator(type)
          if (validator) validateAt(validator, o.config, t.doc, cfgAt, diags)
          filterOverrides[fname] = { config: deepSecrets(o.config, { doc: t.doc, at: cfgAt }) }
        }
      }
      return {
        name: r.name ?? `${name}[${index}]`,
        index,
        match,
        action,
        ...(r.timeout !== undefined && { timeoutMs: durationMs(r.timeout) }),
        ...(r.first_token_timeout !== undefined && { firstTokenTimeoutMs: durationMs(r.first_token_timeout) }),
        ...(r.connect_timeout !== undefined && { connectTimeoutMs: durationMs(r.connect_timeout) }),
        ...(r.idle_timeout !== undefined && { idleTimeoutMs: durationMs(r.idle_timeout) }),
        ...(r.model_rewrite !== undefined && { modelRewrite: r.model_rewrite }),
        ...(r.retry_policy !== undefined && { retry: retryPolicyIR(r.retry_policy) }),
        ...(r.fallback !== undefined && { fallbackOn: r.fallback.on }),
        streamRecovery: r.stream_recovery,
        filterOverrides,
      }
    })
    routeTables.push({ name, rules })
  }

  // Listeners
  const listeners: ListenerIR[] = []
  const ports = new Map<number, Located<Obj>>()
  if (admin && adminIR.port !== 0) ports.set(adminIR.port, admin)
  for (const [name, l] of byKind.listeners) {
    const v = l.value
    const clash = ports.get(v.port)
    if (clash) {
      const what = clash === admin ? 'the admin API' : `listener '${clash.value.name}'`
      report('SY_CFG_PORT_CLASH', { doc: l.doc, at: [...l.at, 'port'] }, `port ${v.port} is already used by ${what} (at ${where(clash)})`)
    } else ports.set(v.port, l)
    if (!byKind.routes.has(v.route_table)) {
      report('SY_CFG_UNKNOWN_ROUTE_TABLE', { doc: l.doc, at: [...l.at, 'route_table'] }, `unknown route table '${v.route_table}' (known: ${[...byKind.routes.keys()].join(', ') || 'none'})`)
    }
    ;(v.filters as string[]).forEach((f, i) => {
      if (!filterTypes.has(f)) report('SY_CFG_UNKNOWN_FILTER', { doc: l.doc, at: [...l.at, 'filters', i] }, `unknown filter '${f}' (known: ${[...filterTypes.keys()].join(', ') || 'none'})`)
    })
    listeners.push({ name, address: v.address, port: v.port, routeTable: v.route_table, filters: v.filters, maxBodyBytes: sizeBytes(v.max_body), protocol: v.protocol, routingHeaders: v.routing_headers !== false })
  }
  if (admin === undefined && adminIR.port !== 0 && ports.has(adminIR.port)) {
    const l = ports.get(adminIR.port)!
    report('SY_CFG_PORT_CLASH', { doc: l.doc, at: [...l.at, 'port'] }, `port ${adminIR.port} is the admin API's default port; set admin.port`)
  }

  // Every string, wherever it sits: a reference look-alike, or a reference where none is resolved.
  for (const doc of docs) {
    forEachString(doc.value, [], (s, at, credential) => {
      const problem = referenceProblem(s, { resolves: resolvesReferences(at), credential }, RESOLVING_FIELDS)
      if (problem) report('SY_CFG_SECRET_SYNTAX', { doc, at }, problem)
    })
  }

  const effective = redactConfig({
    admin: { address: adminIR.address, port: adminIR.port, allowed_hosts: adminIR.allowedHosts },
    runtime: runtime?.value ?? { drain_timeout: '30s' },
    listeners: [...byKind.listeners.values()].map((l) => l.value),
    routes: [...byKind.routes.values()].map((l) => l.value),
    clusters: [...byKind.clusters.values()].map((l) => l.value),
    filters: [...byKind.filters.values()].map((l) => l.value),
  })
  const warnings = continuationWarnings(routeTables, clusters, byKind.routes, where)
  const body = { admin: adminIR, drainTimeoutMs, requireNative, listeners, routeTables, clusters, filters, effective, secrets: collectSecrets({ clusters, filters, routeTables }, declared), warnings }
  return { body, needs }
}

function continuationPrefillOf(setting: string, provider: string, protocol: string): ContinuationPrefill {
  if (protocol !== 'openai' && protocol !== 'mock') return 'assistant'
  if (setting === 'vllm' || setting === 'deepseek' || setting === 'none') return setting
  return provider === 'vllm' ? 'vllm' : provider === 'deepseek' ? 'deepseek' : 'none'
}

/** `stream_recovery: continue` routes whose later fallback clusters cannot prefill (verified, so safe, but often refused). */
function continuationWarnings(tables: readonly RouteTableIR[], clusters: readonly ClusterIR[], located: Map<string, Located<Obj>>, where: (l: { doc: LoadedDoc; at: Segs }) => string): string[] {
  const prefill = new Map(clusters.map((c) => [c.name, c.continuationPrefill]))
  const out: string[] = []
  for (const t of tables) {
    const loc = located.get(t.name)
    for (const r of t.rules) {
      if (r.streamRecovery !== 'continue' || r.action.kind !== 'fallback') continue
      r.action.clusters.slice(1).forEach((c, i) => {
        if (prefill.get(c.cluster) !== 'none') return
        const at = loc ? `${where({ doc: loc.doc, at: [...loc.at, 'rules', r.index, 'fallback', 'clusters', i + 1, 'cluster'] })}: ` : ''
        out.push(`${at}routes.${t.name}.rules[${r.index}]: stream_recovery continue falls back to cluster '${c.cluster}', which cannot prefill (continuation_prefill: none): its continuations are checked and discarded when they restart the answer; set continuation_prefill (vllm, deepseek) if the server supports it`)
      })
    }
  }
  return out
}

/** A `retry_policy` block (route or cluster default), defaults already applied by the schema. */
function retryPolicyIR(p: any): RetryPolicyIR {
  return {
    retryOn: p.retry_on,
    numRetries: p.num_retries,
    ...(p.per_try_timeout !== undefined && { perTryTimeoutMs: durationMs(p.per_try_timeout) }),
    baseIntervalMs: durationMs(p.base_interval),
    maxIntervalMs: durationMs(p.max_interval),
    retryAfterCapMs: durationMs(p.retry_after_cap),
  }
}

/** A health check every provider's API answers with the endpoint's credentials: its model list. */
function defaultHealthPath(provider: string, protocol: string, basePath: string, azureApiVersion: string): string | undefined {
  if (provider === 'azure_openai') return `${basePath}/openai/models?api-version=${encodeURIComponent(azureApiVersion)}`
  if (protocol === 'openai' || protocol === 'anthropic') return `${basePath}/models`
  if (protocol === 'gemini') return `${basePath}/v1beta/models`
  return undefined
}
