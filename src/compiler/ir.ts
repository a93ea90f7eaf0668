/**
 * The compiled intermediate form: validated, resolved, plain data (no functions, no classes),
 * so it can be posted to worker threads, hashed, and turned deterministically into a runtime
 * Snapshot by buildSnapshot() in every worker.
 */
import type { Protocol, ProviderPreset, UpstreamProtocol } from '../protocols.js'
export type { Protocol, ProviderPreset, UpstreamProtocol }

export type LbPolicy = 'round_robin' | 'weighted' | 'random' | 'least_request' | 'ring_hash' | 'least_latency' | 'dynamic_weighted'

export interface ListenerIR {
  readonly name: string
  readonly address: string
  readonly port: number
  readonly routeTable: string
  readonly filters: readonly string[]
  readonly maxBodyBytes: number
  /** `routing_headers`: proxied answers carry x-switchyard-cluster / -endpoint / -attempts. */
  readonly routingHeaders: boolean
  readonly protocol: Protocol
  /** `access_log`: one access-log record per request (runtime/http/access-log.ts). */
  readonly accessLog?: boolean
}

export type StringMatchIR = { readonly kind: 'exact' | 'prefix' | 'regex' | 'glob'; readonly value: string }
export type KeyedMatchIR = {
  readonly name: string
  readonly kind: 'exact' | 'regex' | 'present' | 'absent'
  readonly value?: string
}

export interface MatchIR {
  readonly methods?: readonly string[]
  readonly path?: StringMatchIR
  readonly headers: readonly KeyedMatchIR[]
  readonly query: readonly KeyedMatchIR[]
  readonly model?: StringMatchIR
  /** The authenticated tenant's name (`exact` or `glob`); a request without identity never matches. */
  readonly tenant?: StringMatchIR
  /** Conditions on the tenant's labels (absent: none). */
  readonly tenantLabels?: readonly KeyedMatchIR[]
  /** Conditions on the JWT's claims; `name` is a claim name or dotted path (absent: none). */
  readonly claims?: readonly KeyedMatchIR[]
}

export type ActionIR =
  | { readonly kind: 'cluster'; readonly cluster: string }
  | {
      readonly kind: 'weighted'
      readonly clusters: readonly { readonly name: string; readonly weight: number }[]
      readonly hashHeader?: string
      /** `hash_on: tenant`: sticky by the authenticated tenant's name. */
      readonly hashTenant?: boolean
      /** A progressive canary between two of the clusters (control/rollouts.ts drives it). */
      readonly rollout?: RolloutIR
    }
  | { readonly kind: 'direct'; readonly status: number; readonly body: string; readonly contentType: string }
  | { readonly kind: 'fallback'; readonly clusters: readonly { readonly cluster: string; readonly modelRewrite?: string }[] }

/** `rollout:` of a weighted split: steps are percent of the baseline + candidate pair. */
export interface RolloutIR {
  readonly candidate: string
  readonly baseline: string
  readonly steps: readonly number[]
  readonly stepMs: number
  readonly guards: {
    /** Absolute, or relative (`overBaseline`: at most the baseline's rate plus this). */
    readonly maxErrorRate?: { readonly absolute: number } | { readonly overBaseline: number }
    readonly maxP95LatencyRatio?: number
    readonly maxP95TtftRatio?: number
    readonly minRequests: number
  }
}

/** `connect_failure`, `reset`, `timeout`, `5xx`, `429`, `context_length`, or a status code. */
export type FailureCondition = 'connect_failure' | 'reset' | 'timeout' | '5xx' | '429' | 'context_length' | number

export interface RetryPolicyIR {
  readonly retryOn: readonly FailureCondition[]
  readonly numRetries: number
  readonly perTryTimeoutMs?: number
  readonly baseIntervalMs: number
  readonly maxIntervalMs: number
  readonly retryAfterCapMs: number
}

/** The backoff part of a retry policy (runtime/resilience/retry.ts): full jitter up to the ceiling. */
export type BackoffConfig = Pick<RetryPolicyIR, 'baseIntervalMs' | 'maxIntervalMs'>

export type FilterOverrideIR = { readonly disabled: true } | { readonly config: Record<string, unknown> }

export interface RuleIR {
  readonly name: string
  readonly index: number
  readonly match: MatchIR
  readonly action: ActionIR
  readonly timeoutMs?: number
  readonly firstTokenTimeoutMs?: number
  /** Overrides the clusters' connect timeout for this rule (own pools). */
  readonly connectTimeoutMs?: number
  readonly idleTimeoutMs?: number
  readonly modelRewrite?: string
  readonly retry?: RetryPolicyIR
  /** Conditions that move a `fallback` action to its next cluster. */
  readonly fallbackOn?: readonly FailureCondition[]
  readonly streamRecovery: 'error' | 'continue'
  readonly filterOverrides: Readonly<Record<string, FilterOverrideIR>>
  /** `tracing.capture_content`: present only when the rule records message content on its spans. */
  readonly contentCapture?: ContentCaptureIR
}

/** A rule's opt-in to message content on its trace spans (docs/observability.md). */
export interface ContentCaptureIR {
  /** Largest value of each content attribute, in UTF-8 bytes. */
  readonly maxBytes: number
}

export interface RouteTableIR {
  readonly name: string
  readonly rules: readonly RuleIR[]
}

export interface EndpointIR {
  /**
   * The URL as configured with any userinfo masked (`http://[redacted]@host/v1`): what logs,
   * /clusters, `explain`, `x-switchyard-endpoint` and error messages show, and with the cluster
   * name the endpoint's stable identity (`<cluster>|<url>`).
   */
  readonly url: string
  /** Shown to clients in `x-switchyard-endpoint`; default the endpoint's index. */
  readonly name: string
  /** `scheme://host[:port]`, never with userinfo: what connections are opened to. */
  readonly origin: string
  /** Path prefix the request path (minus `/v1`) is appended to, without a trailing slash. */
  readonly basePath: string
  readonly weight: number
  /** Resolved secret; never printed. */
  readonly apiKey?: string
  /** `Basic …` from the URL's userinfo, sent as `authorization` (exclusive with apiKey); never printed. */
  readonly basicAuth?: string
  /** Health check path when the cluster's health_check names none: the provider's default. */
  readonly healthPath?: string
}

/** How `lb: dynamic_weighted` turns reported load into weights (runtime/lb/dynamic-weights.ts). */
export interface DynamicWeightsConfig {
  readonly intervalMs: number
  /** Weight of the newest round in the smoothed load (0–1]; 1 = no smoothing. */
  readonly smoothing: number
  /** Lowest weight, as a fraction of the configured weight (0–1). */
  readonly minWeightFraction: number
}

/** A cluster's `dynamic_weights`: where load comes from, and how it becomes weights. */
export interface DynamicWeightsIR extends DynamicWeightsConfig {
  /** Response header carrying the endpoint's load (lower-cased). */
  readonly header?: string
  /** Prometheus gauge polled on every endpoint's origin. */
  readonly metrics?: { readonly path: string; readonly metric: string; readonly timeoutMs: number }
}

/** A cluster's `ring_hash` ring size (runtime/lb/ring-hash.ts). */
export interface RingHashConfig {
  /** Points of the lightest endpoint (so the ring has at least this many); more spreads keys more evenly. */
  readonly minRingSize: number
  /** Upper bound on virtual nodes, whatever the weights ask for. */
  readonly maxRingSize: number
}

/** A cluster's `least_latency` (runtime/lb/least-latency.ts). */
export interface LeastLatencyConfig {
  /** Time constant of the EWMA; larger remembers longer. */
  readonly decayMs: number
  /** Estimate for an endpoint with no samples yet. */
  readonly defaultLatencyMs: number
}

/** A cluster's `circuit_breaker`, per endpoint (runtime/resilience/circuit-breaker.ts). */
export interface CircuitBreakerConfig {
  /** Open after this many failures in a row; 0 disables. */
  readonly consecutiveFailures: number
  /** Open when failures / results over the window reach this (0–1); 0 disables. */
  readonly failureRatio: number
  readonly windowMs: number
  /** The ratio is only judged with at least this many results in the window. */
  readonly minRequests: number
  readonly openMs: number
  readonly maxOpenMs: number
  readonly halfOpenProbes: number
}

/** A cluster's `outlier_detection` (runtime/resilience/outlier-detector.ts). */
export interface OutlierDetectionConfig {
  /** 0 disables. */
  readonly consecutive5xx: number
  /** 0 disables. */
  readonly consecutiveGatewayErrors: number
  /** 0 disables latency ejection. */
  readonly latencyFactor: number
  readonly latencyMinSamples: number
  readonly latencyMinEndpoints: number
  /** Weight of a new sample in the latency EWMA (0–1). */
  readonly latencyAlpha: number
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
  /** 0–100. */
  readonly maxEjectionPercent: number
  readonly defaultCooldownMs: number
  readonly maxCooldownMs: number
}

/** A cluster's `health_check`, active checks run on the main thread (runtime/resilience/health-checker.ts). */
export interface HealthCheckConfig {
  readonly intervalMs: number
  /** Up to this much random extra time before each check. */
  readonly jitterMs: number
  readonly timeoutMs: number
  readonly healthyThreshold: number
  readonly unhealthyThreshold: number
  readonly method: string
  /** Request path (with query) appended to the endpoint's origin, e.g. `/health`; a target's own wins. */
  readonly path?: string
  /** Status codes and ranges such as `200-299`. */
  readonly expectedStatuses: readonly (number | string)[]
  readonly headers: Readonly<Record<string, string>>
}

export interface ClusterIR {
  readonly name: string
  readonly provider: ProviderPreset
  readonly protocol: UpstreamProtocol | 'mock'
  readonly lb: LbPolicy
  /** 0–100: below this % of eligible endpoints, balance over all (0 = only when none is). */
  readonly panicThreshold: number
  /** Public model name → provider model id. */
  readonly modelMap: Readonly<Record<string, string>>
  /** Public model names the cluster serves, for GET /v1/models (`models:`). */
  readonly models: readonly string[]
  readonly azure: { readonly apiVersion: string; readonly deployments: Readonly<Record<string, string>> }
  readonly anthropic: { readonly version: string; readonly defaultMaxTokens: number }
  /** Resolved AWS credentials for SigV4; never printed. */
  readonly bedrock: { readonly region: string; readonly accessKeyId?: string; readonly secretAccessKey?: string; readonly sessionToken?: string }
  readonly timeoutMs: number
  /** 0 = off. */
  readonly firstTokenTimeoutMs: number
  /** 0 = off. */
  readonly idleTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly ringHash: RingHashConfig & {
    readonly hashHeader?: string
    /** Path segments into the JSON body, e.g. ['metadata', 'user_id']. */
    readonly hashBodyField?: readonly string[]
    /** `hash_on: tenant`: the authenticated tenant's name is the key. */
    readonly hashTenant?: boolean
  }
  readonly leastLatency: LeastLatencyConfig
  /** Default for routes to this cluster that have no retry_policy of their own. */
  readonly retry?: RetryPolicyIR
  /** Present with `lb: dynamic_weighted` (the schema requires it there). */
  readonly dynamicWeights?: DynamicWeightsIR
  readonly breaker?: CircuitBreakerConfig
  readonly outlier?: OutlierDetectionConfig
  readonly healthCheck?: HealthCheckConfig
  readonly limits: {
    readonly maxRequests: number
    readonly maxPendingRequests: number
    readonly maxRetries: number
    /** Whole-process cap on open upstream connections; undefined = only pool.connections. */
    readonly maxConnections?: number
    /** Present when `retry_budget` is configured; replaces maxRetries. */
    readonly retryBudget?: { readonly percent: number; readonly minRetryConcurrency: number }
  }
  /** How a broken stream's text is put in front of this cluster's continuation (see stream-recovery). */
  readonly continuationPrefill: ContinuationPrefill
  /** Extra upstream response headers the client may see (lower-case; a trailing `*` is a prefix). */
  readonly forwardResponseHeaders: readonly string[]
  readonly pool: {
    readonly connections: number; readonly keepAliveMs: number
    /** `pool.protocol`: undici's allowH2 (h2c with prior knowledge over http://). */
    readonly protocol: 'http1' | 'http2'
    readonly maxConcurrentStreams: number
  }
  readonly endpoints: readonly EndpointIR[]
  /** `discovery`: where this cluster's endpoints register themselves (docs/discovery.md). */
  readonly discovery?: ClusterDiscoveryIR
  readonly mock: {
    readonly reply?: string; readonly chunks: number; readonly chunkDelayMs: number; readonly latencyMs: number
    /** `mock.fail`: answer this share of requests (those with the header, if named) with this error status. */
    readonly fail?: { readonly percent: number; readonly status: number; readonly onlyWithHeader?: string }
  }
  /** `embedding_batching` when enabled: concurrent embeddings requests share one upstream call. */
  readonly embeddingBatching?: { readonly windowMs: number; readonly maxInputs: number }
  /** Present for `provider: kserve_grpc`. */
  readonly kserve?: KserveIR
}

/** A chat template: each role's text around `{content}`, then where the answer starts. */
export interface ChatTemplateIR {
  readonly begin: string
  readonly system: string
  readonly user: string
  readonly assistant: string
  readonly generationPrompt: string
}

/** `kserve` of a `kserve_grpc` cluster: tensors, template, RPC choice and channels (runtime/providers/kserve/). */
export interface KserveIR {
  readonly chatTemplate: ChatTemplateIR
  readonly sampling: 'json' | 'tensors'
  readonly decoupled: boolean
  readonly streamOutput: 'delta' | 'cumulative'
  readonly batchDimension: boolean
  readonly modelVersion: string
  readonly readyModel?: string
  readonly channels: number
  readonly keepaliveTimeMs: number
  readonly keepaliveTimeoutMs: number
  /** Tensor names by role ('' = not sent / not read). */
  readonly tensors: {
    readonly textInput: string; readonly textOutput: string; readonly stream: string
    readonly samplingParameters: string; readonly excludeInputInOutput: string
    readonly maxTokens: string; readonly temperature: string; readonly topP: string; readonly seed: string
    readonly stop: string; readonly presencePenalty: string; readonly frequencyPenalty: string
    readonly inputTokens: string; readonly outputTokens: string
  }
}

export interface FilterIR {
  readonly name: string
  readonly type: string
  /** Config with secrets resolved. */
  readonly config: Record<string, unknown>
}

/**
 * Rates as the schema names them (`requests_per_second`, `tokens_per_minute`,
 * `concurrent_requests`, …: schemas/limits.schema.json); runtime/limits/rates.ts turns them into rules.
 */
export type RatesIR = Readonly<Record<string, number>>

/** Spend allowed per UTC period, in the currency of the price table (units, not nanos). */
export interface BudgetIR {
  readonly day?: number
  readonly month?: number
}

/** A tenant: labels for routing, the models its callers may use, its own rates and budget. */
export interface TenantIR {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Exact names and globs; undefined: no restriction. */
  readonly models?: readonly string[]
  readonly limits?: RatesIR
  readonly budget?: BudgetIR
}

/** The top-level `redis` block, resolved (password from its secret). Never printed. */
export interface RedisIR {
  readonly url?: string
  readonly cluster?: readonly { readonly host: string; readonly port: number }[]
  readonly sentinel?: { readonly master: string; readonly nodes: readonly { readonly host: string; readonly port: number }[] }
  readonly password?: string
  readonly tls: boolean
  readonly keyPrefix: string
  readonly commandTimeoutMs: number
}

/** One row of the price table: per million tokens. */
export interface PriceIR {
  readonly model: string
  readonly input: number
  readonly output: number
  readonly cachedInput?: number
}

/**
 * An API key, only ever as its hash (a `secret:` reference is hashed by the compiler). Same shape
 * as runtime/identity/key-table.ts's KeyEntry. Never shown: /config, /keys and logs name it by id.
 */
export interface KeyIR {
  readonly id: string
  readonly tenant: string
  /** `sha256:<64 lower-case hex>`. */
  readonly hash: string
  readonly models?: readonly string[]
  /** RFC 3339. */
  readonly expiresAt?: string
  readonly disabled: boolean
  readonly limits?: RatesIR
  readonly budget?: BudgetIR
}

/** `assistant`: a final assistant/model turn is a real prefill (Anthropic, Bedrock, Gemini). */
export type ContinuationPrefill = 'assistant' | 'vllm' | 'deepseek' | 'none'

export interface SnapshotIR {
  /** Content hash of everything below (or a revision chosen by the config source). */
  readonly version: string
  /** Where the config came from, e.g. `file:examples/quickstart.yaml`. */
  readonly source: string
  /** allowedHosts: extra Host values (lower-cased) the admin API answers besides loopback ones. */
  readonly admin: {
    readonly address: string
    readonly port: number
    readonly allowedHosts: readonly string[]
    /** `admin.token`, resolved: every endpoint but /healthz and /ready needs it as a Bearer. Never printed. */
    readonly token?: string
  }
  readonly drainTimeoutMs: number
  /** `runtime.require_native`: refuse uWebSockets.js's JavaScript fallback. */
  readonly requireNative: boolean
  readonly listeners: readonly ListenerIR[]
  readonly routeTables: readonly RouteTableIR[]
  readonly clusters: readonly ClusterIR[]
  readonly filters: readonly FilterIR[]
  readonly tenants: readonly TenantIR[]
  readonly keys: readonly KeyIR[]
  /** Where `scope: global` limits and budgets live; undefined without a `redis` block. */
  readonly redis?: RedisIR
  readonly prices: readonly PriceIR[]
  /** The effective config (defaults filled in) with secrets shown as their references, for /config. */
  readonly effective: unknown
  /**
   * Every resolved secret value the config holds (endpoint keys, AWS credentials, credential-like
   * header-filter values, URL passwords). The runtime scrubs them from whatever an upstream sends
   * back; never shown anywhere.
   */
  readonly secrets: readonly string[]
  /** Not errors, but worth saying at validate and at startup (`source:line:col: path: message`). */
  readonly warnings: readonly string[]
  /** The `telemetry` section; absent means every default (metrics enabled). */
  readonly telemetry?: TelemetryIR
  /** The `log` section (schemas/log.schema.json); absent: info, pretty. */
  readonly log?: LogIR
  /** The `batches` section (schemas/batches.schema.json); absent: no batch API. */
  readonly batches?: BatchesIR
  /** The model registry (schemas/model.schema.json, docs/models.md); absent: none configured. */
  readonly models?: readonly ModelIR[]
}

/** What a registered model can do (`capabilities`); false: a request needing it is refused with 400. */
export interface ModelCapabilitiesIR {
  readonly tools: boolean
  readonly vision: boolean
  readonly jsonMode: boolean
  readonly reasoning: boolean
  readonly streaming: boolean
}

/**
 * One registry entry (`models:`), resolved: aliases checked unique, provider ids already merged
 * into each named cluster's modelMap, prices already rows of `prices`, `replacement` the
 * canonical name of a registered model.
 */
export interface ModelIR {
  readonly name: string
  readonly aliases: readonly string[]
  /** Cluster name → provider model id (also in that cluster's modelMap). */
  readonly providerIds: Readonly<Record<string, string>>
  readonly ownedBy?: string
  readonly contextWindow?: number
  readonly maxOutputTokens?: number
  readonly capabilities: ModelCapabilitiesIR
  readonly prices?: { readonly input: number; readonly output: number; readonly cachedInput?: number }
  /** `deprecated_at` as given, and as epoch milliseconds. */
  readonly deprecatedAt?: string
  readonly deprecatedAtMs?: number
  readonly replacement?: string
  readonly rewriteToReplacement: boolean
}

/** `batches`: the Batch API and its JetStream queue (src/control/batches/, docs/batches.md). */
export interface BatchesIR {
  readonly servers: readonly string[]
  readonly connectTimeoutMs: number
  readonly stream: string
  readonly replicas: number
  readonly storageDir: string
  /** Names of the listeners that answer the batch and file paths. */
  readonly listeners: readonly string[]
  readonly concurrency: number
  readonly yieldToInteractive: number
  readonly maxFileBytes: number
  readonly maxLines: number
  readonly maxCompletionWindowMs: number
  readonly ackWaitMs: number
  readonly maxAttempts: number
  readonly lineTimeoutMs: number
}

/** `log`: what every thread writes (src/shared/log.ts applies it on each snapshot). */
export interface LogIR {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly format: 'json' | 'pretty'
}

/** `telemetry` (schemas/telemetry.schema.json): which signals the workers record. */
export interface TelemetryIR {
  readonly metrics: { readonly enabled: boolean }
  /** Absent: no tracing (nothing on the request path). */
  readonly tracing?: TracingIR
}

/** `telemetry.tracing`: OpenTelemetry spans exported over OTLP/HTTP by each worker. */
export interface TracingIR {
  /** The collector's OTLP/HTTP traces URL (references resolved). */
  readonly endpoint: string
  /** Export headers, references resolved (secrets). */
  readonly headers: Readonly<Record<string, string>>
  readonly sampleRatio: number
  readonly parentBased: boolean
  readonly serviceName: string
  readonly resourceAttributes: Readonly<Record<string, string>>
  readonly maxBatchSize: number
  readonly batchIntervalMs: number
  readonly maxQueueSize: number
  readonly exportTimeoutMs: number
}

/** A cluster's self-registration source: keys `<prefix><cluster>/<id>` in etcd. */
export interface ClusterDiscoveryIR {
  readonly etcdEndpoints: readonly string[]
  /** `<discovery.etcd.prefix><cluster name>/`, always ending in `/`. */
  readonly prefix: string
  /** How many of `endpoints` came from registrations (0: none registered, `endpoints` serve). */
  readonly registered: number
}

/**
 * One endpoint registration read from etcd, already parsed and checked by the control plane
 * (control/discovery): handed to compileConfig through `discovered`, keyed by cluster name.
 */
export interface DiscoveredEndpoint {
  /** The etcd key that holds it, for messages. */
  readonly key: string
  readonly url: string
  readonly weight: number
  readonly name: string
}

/**
 * A `type: wasm` filter's config as the compiler lowers it (src/compiler/wasm/): the module read,
 * checked and instrumented on the main thread, shipped to workers as bytes, so a worker never
 * reads the file (and the snapshot's version hash changes when the file does).
 */
export interface WasmFilterIR {
  /** The filter's name (logs, metrics, `plugin_name`). */
  readonly plugin: string
  /** Absolute path of the .wasm file (watched like the config). */
  readonly module: string
  /** SHA-256 of the file as written, hex. */
  readonly sha256: string
  /** The instrumented module, base64. */
  readonly binary: string
  /** What proxy_on_configure reads as PLUGIN_CONFIGURATION (an object is sent as JSON). */
  readonly configuration: string
  /** Fuel units per callback (a function entry or a loop iteration costs one). */
  readonly fuel: number
  /** The memory's cap in bytes (pages × 64 KiB, at most `memory_limit`). */
  readonly memoryMaxBytes: number
  /** The proxy_on_* callbacks the module exports. */
  readonly callbacks: readonly string[]
}
