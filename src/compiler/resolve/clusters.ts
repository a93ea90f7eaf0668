/**
 * Clusters: the provider's protocol and defaults, endpoints (endpoints.ts), timeouts, balancing,
 * resilience (breaker, outlier detection, health checks, limits) and the mock's behaviour, with
 * durations in milliseconds and header names lower-cased.
 */
import type { ClusterIR, ContinuationPrefill } from '../ir.js'
import { durationMs } from '../../shared/units.js'
import { PROVIDER_PRESETS } from '../provider-presets.js'
import type { ResolveContext } from './context.js'
import { resolveDiscovery, resolveEndpoints } from './endpoints.js'
import { below, type LocatedValue } from './positions.js'
import type { MergedConfig, Obj } from './merge.js'
import { resolveRetryPolicy } from './retry-policy.js'
import { resolveKserve } from './kserve.js'

export function resolveClusters(config: MergedConfig, ctx: ResolveContext): ClusterIR[] {
  const out: ClusterIR[] = []
  for (const [name, c] of config.clusters) out.push(resolveCluster(name, c, ['clusters', out.length], ctx))
  return out
}

function resolveCluster(name: string, c: LocatedValue<Obj>, irPath: readonly (string | number)[], ctx: ResolveContext): ClusterIR {
  const v = c.value
  const preset = PROVIDER_PRESETS[v.provider as keyof typeof PROVIDER_PRESETS]
  ctx.positions.record(irPath, c)
  const endpoints = resolveEndpoints(name, c, irPath, ctx)
  if (v.health_check && v.health_check.path === undefined && v.provider === 'bedrock') {
    ctx.report('SY_CFG_SCHEMA', below(c, 'health_check'), `cluster '${name}': provider 'bedrock' has no unsigned endpoint to check by default; set health_check.path`)
  }
  if (endpoints.length === 0 && (v.endpoints as Obj[]).length === 0 && !preset.defaultUrl && v.provider !== 'mock' && !(v.discovery && ctx.discoveryProbe)) {
    const hint = v.discovery ? ' (none is registered under discovery yet: give `endpoints` to serve until one is)' : ''
    ctx.report('SY_CFG_NO_ENDPOINTS', below(c, 'provider'), `cluster '${name}' with provider '${v.provider}' needs at least one endpoint${hint}`)
  }
  if (v.lb === 'weighted' && endpoints.length > 0 && endpoints.every((e) => e.weight === 0)) {
    ctx.report('SY_CFG_ZERO_WEIGHT', below(c, 'endpoints'), `endpoint weights of cluster '${name}' sum to 0`)
  }
  const b = v.bedrock as Obj
  const bedrockSecret = (key: string) => (b[key] === undefined ? undefined : ctx.secrets.secret(b[key], below(c, 'bedrock', key)))
  const bedrock = {
    region: v.bedrock.region as string,
    ...(b.access_key_id !== undefined && { accessKeyId: bedrockSecret('access_key_id') }),
    ...(b.secret_access_key !== undefined && { secretAccessKey: bedrockSecret('secret_access_key') }),
    ...(b.session_token !== undefined && { sessionToken: bedrockSecret('session_token') }),
  }
  if (v.provider === 'bedrock' && (b.access_key_id === undefined || b.secret_access_key === undefined)) {
    ctx.report('SY_CFG_SECRET', below(c, 'provider'), `cluster '${name}': provider 'bedrock' needs bedrock.access_key_id and bedrock.secret_access_key (e.g. \${env:AWS_ACCESS_KEY_ID})`)
  }
  const batching = v.embedding_batching as Obj | undefined
  if (batching !== undefined && batching.enabled !== false && (preset.protocol !== 'openai' || v.provider === 'mock')) {
    ctx.report('SY_CFG_UNSUPPORTED', below(c, 'embedding_batching'), `cluster '${name}': embedding_batching needs an OpenAI-format provider with an embeddings API; provider '${v.provider}' has none`)
  }
  return {
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
    ...(v.retry_policy !== undefined && { retry: resolveRetryPolicy(v.retry_policy) }),
    connectTimeoutMs: durationMs(v.connect_timeout),
    forwardResponseHeaders: (v.forward_response_headers as string[]).map((h) => h.toLowerCase()),
    continuationPrefill: continuationPrefillOf(v.continuation_prefill, v.provider, preset.protocol),
    ringHash: {
      ...(v.ring_hash.hash_on === 'tenant' && { hashTenant: true }),
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
        headers: ctx.secrets.deep(v.health_check.headers, below(c, 'health_check', 'headers')),
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
    pool: { connections: v.pool.connections, keepAliveMs: durationMs(v.pool.keep_alive), protocol: v.pool.protocol, maxConcurrentStreams: v.pool.max_concurrent_streams },
    endpoints,
    ...(v.discovery && { discovery: resolveDiscovery(name, v.discovery, (ctx.discovered[name] ?? []).length > 0 ? endpoints.length : 0) }),
    mock: {
      ...(v.mock.reply !== undefined && { reply: v.mock.reply }),
      chunks: v.mock.chunks,
      chunkDelayMs: durationMs(v.mock.chunk_delay),
      latencyMs: durationMs(v.mock.latency),
      ...(v.mock.fail !== undefined && { fail: { percent: v.mock.fail.percent ?? 100, status: v.mock.fail.status ?? 503, ...(v.mock.fail.only_with_header !== undefined && { onlyWithHeader: String(v.mock.fail.only_with_header).toLowerCase() }) } }),
    },
    ...(batching !== undefined && batching.enabled !== false && { embeddingBatching: { windowMs: durationMs(batching.window), maxInputs: batching.max_inputs } }),
    ...(v.provider === 'kserve_grpc' && { kserve: resolveKserve(v.kserve) }),
  }
}

function continuationPrefillOf(setting: string, provider: string, protocol: string): ContinuationPrefill {
  if (protocol !== 'openai' && protocol !== 'mock') return 'assistant'
  if (setting === 'vllm' || setting === 'deepseek' || setting === 'none') return setting
  return provider === 'vllm' ? 'vllm' : provider === 'deepseek' ? 'deepseek' : 'none'
}
