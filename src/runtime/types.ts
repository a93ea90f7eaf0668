/**
 * Runtime shapes shared by the dispatch path, filters, providers and the snapshot builder.
 */
import type { Dispatcher } from 'undici'
import type { ClusterIR, ContentCaptureIR, Protocol, UpstreamProtocol } from '../compiler/ir.js'
import type { ClusterStats, EndpointStats } from '../shared/shared-state.js'
export type { ClusterStats, EndpointStats } from '../shared/shared-state.js'

/** What a route matcher sees. Header names are lower-case. */
export interface RequestHead {
  readonly method: string
  readonly path: string
  /** Raw query string without `?` ('' when none). */
  readonly query: string
  readonly headers: Record<string, string>
  /** `model` from the JSON body, when there is one. */
  readonly model: string | undefined
  /** The parsed JSON body (undefined when there is none), for keys such as ring_hash body fields. */
  readonly json?: unknown
  /**
   * Who the caller is, set by the listener's pre-route (auth) filters before the route match, so
   * rules, sticky splits and balancers can use it. Undefined without auth or before it ran.
   */
  identity?: Identity
}

/** An authenticated caller: its tenant and the key or token that proved it. Never holds a secret. */
export interface Identity {
  readonly tenant: string
  /** The tenant's labels (config), for route matches. */
  readonly labels: Readonly<Record<string, string>>
  /** How the caller authenticated. */
  readonly via: 'api_key' | 'jwt' | 'trusted_header'
  /** The API key's public id (api_key only). */
  readonly keyId: string | undefined
  /** The verified JWT's claims (jwt only). */
  readonly claims: Readonly<Record<string, unknown>> | undefined
}

/** A response produced by the gateway itself (direct response, filter reply, error). */
export interface LocalReply {
  readonly status: number
  readonly headers: readonly (readonly [string, string])[]
  readonly body: Buffer
}

/**
 * The client side of a request: uWS in production, an in-memory recorder in tests.
 * `write` returning false means "buffered; wait for onWritable before writing more".
 */
export interface Downstream {
  readonly aborted: boolean
  onAbort(cb: () => void): void
  write(chunk: Uint8Array | string): boolean
  onWritable(cb: () => void): void
  /** Sends status and headers (if not yet sent) and the final chunk. */
  end(chunk?: Uint8Array | string): void
  /** Status and headers go out with the first write/end. */
  writeHead(status: number, headers: readonly (readonly [string, string])[]): void
  /** Tear the connection down: used when a non-SSE body cannot be finished. */
  close(): void
  /**
   * The client's address as text; '' once the response ended or the client left (the connection is
   * gone). Absent on internal downstreams (batch members, filter-made calls): they have no client.
   */
  remoteAddress?(): string
  /**
   * Whether status and headers went out (with the first bytes). False: the answer can still be
   * replaced by an error (a plugin stopping a whole JSON body). Absent: assume it started.
   */
  readonly started?: boolean
}

/** Normalized token usage: input includes cached tokens, output includes reasoning tokens. */
export type { NormalizedUsage as Usage } from './providers/translate/types.js'
import type { NormalizedUsage as Usage } from './providers/translate/types.js'

export interface RequestContext {
  readonly id: string
  /** The caller's x-request-id when it is sane, else generated; sent upstream and returned on every answer. */
  readonly requestId: string
  readonly snapshot: Snapshot
  readonly listener: CompiledListener
  /** Front-door protocol of this request (errors are answered in it). */
  readonly protocol: Protocol
  readonly head: RequestHead
  /**
   * The TCP peer's address as text, read from the connection on first use: call `peerOf(ctx)`
   * (identity/peer.ts), not this field. Most requests never need it (failure counting, trusted proxies).
   */
  peer: string | undefined
  /** Request headers as they will be forwarded upstream; filters may change them. */
  readonly headers: Record<string, string>
  body: Buffer | undefined
  /** Parsed JSON body (undefined when no body). */
  json: any
  route: CompiledRoute | undefined
  cluster: CompiledCluster | undefined
  endpoint: CompiledEndpoint | undefined
  /** Response headers to the client; filters' onResponse may change them. */
  responseHeaders: [string, string][]
  status: number
  readonly downstream: Downstream
  readonly startedAt: number
  usage: Usage | undefined
  /** The model the last attempt sent upstream (after rewrites and the cluster's model_map); undefined before one. */
  servedModel: string | undefined
  /** Per-request filter state, keyed by filter name. */
  filterState: Record<string, unknown> | undefined
  /** The listener's chain until a route matches, then the route's. */
  chain: CompiledChain
  /** Set once the response has ended (or the client went away). */
  finished: boolean
  /** The gateway added `stream_options.include_usage`; its extra chunk must not reach the client. */
  usageInjected: boolean
  /** Retry / fail-over control for this request (undefined when the route has neither). */
  attempt: AttemptControl | undefined
  /** Who hears this request's attempt lifecycle (the route's list; a shared empty one by default). */
  attemptObservers: CompiledAttemptObservers
  /** The upstream exchange in progress, stopped when the client goes away (tokens cost money). */
  exchange: { onClientAbort(): void } | undefined
  /** Called exactly once when the request is over: in-flight accounting, retirement of old snapshots. */
  onDone: (() => void) | undefined
  /** performance.now() when the first body bytes went to the caller (0: none yet); counted only on access-logged listeners. */
  firstByteAt: number
  /** Body bytes sent to the caller; counted only on access-logged listeners. */
  bytesOut: number
  /** Size of the request body as the caller sent it (ctx.body may be rewritten since). */
  readonly bytesIn: number
  /** Set by an observer that wants the answer's model and finish reasons (a recording trace span); see AnswerFacts. */
  answerFacts?: AnswerFacts | undefined
}

/**
 * What an upstream's answer said about itself, for telemetry: the model that answered and why each
 * choice stopped. Collected only while ctx.answerFacts is set (tracing sets it for a recording
 * attempt span), by the response strategies from what they read anyway (the usage tap's scan, a
 * translated answer's decoded form): a request nobody traces pays nothing for it.
 */
export interface AnswerFacts {
  model: string | undefined
  /** By choice index, in the provider's words (translated streams: the gateway's canonical reason). */
  finishReasons: string[] | undefined
  /**
   * Set only when the route captures message content (`tracing.capture_content`) on a recording
   * span: the response strategies hand it the answer they decode anyway (telemetry/tracing/content-capture.ts).
   */
  content?: AnswerContent | undefined
}

/**
 * The wire format of an answer whose content is captured: an upstream protocol, or `responses`
 * (an OpenAI upstream answering the Responses API in pass-through).
 */
export type AnswerProtocol = UpstreamProtocol | 'responses'

/** Where a traced answer's content goes, in an upstream protocol's own shape (the strategies never format it). */
export interface AnswerContent {
  /** A whole answer, decoded (JSON). */
  whole(protocol: AnswerProtocol, body: unknown): void
  /** One event of a streamed answer, in order: an SSE event, its decoded data, or an AWS event-stream message. */
  event(protocol: AnswerProtocol, event: unknown): void
}

export type HookResult = LocalReply | undefined | void | Promise<LocalReply | undefined | void>

/** A filter instance built once per snapshot by its factory; per-request state lives on ctx. */
export interface Filter {
  readonly name: string
  /**
   * `pre_route`: runs once per request before the route match (auth filters, which set
   * ctx.head.identity for the match); only its onRequest runs, and rules cannot override it.
   */
  readonly phase?: 'pre_route'
  onRequest?(ctx: RequestContext): HookResult
  onResponse?(ctx: RequestContext): void
  /**
   * Body bytes on their way to the client; `last` is set on the answer's final bytes (possibly
   * empty). Returning bytes replaces the chunk for later filters and the client (empty: nothing
   * goes out now); returning nothing passes it on unchanged.
   */
  onChunk?(ctx: RequestContext, chunk: Uint8Array, last?: boolean): Uint8Array | void
  onComplete?(ctx: RequestContext): void
}

export interface FilterDeps {
  readonly stores: Stores
  /** The snapshot's tenants and keys (auth filters need them; absent in unit tests of other filters). */
  readonly identity?: import('./identity/tables.js').IdentityTables
  /** The top-level `redis` block (global limits, budgets); absent without one. */
  readonly redis?: import('../compiler/ir.js').RedisIR
  /** The snapshot's price table (budgets, spend); absent: nothing is priced. */
  readonly prices?: import('./limits/budget.js').PriceTable
  /** The snapshot's cluster names, for filters that name a cluster (the semantic cache's embeddings); absent in unit tests. */
  readonly clusterNames?: ReadonlySet<string>
}

export type FilterFactory = (config: any, deps: FilterDeps) => Filter

/** Hook arrays prebuilt per snapshot (build/filters.ts) so the hot path never checks `if (f.onChunk)`. */
export interface CompiledChain {
  readonly names: readonly string[]
  readonly onRequest: readonly Filter[]
  readonly onResponse: readonly Filter[]
  readonly onChunk: readonly Filter[]
  readonly onComplete: readonly Filter[]
}

export type CompiledAction =
  | { readonly kind: 'cluster'; readonly cluster: CompiledCluster }
  | { readonly kind: 'weighted'; pick(head: RequestHead): CompiledCluster; readonly describe: readonly { name: string; weight: number }[]; readonly hashHeader?: string; readonly hashTenant?: boolean }
  | { readonly kind: 'direct'; readonly reply: LocalReply }
  | { readonly kind: 'fallback'; readonly clusters: readonly { readonly cluster: CompiledCluster; readonly modelRewrite: string | undefined }[] }

/** Why an upstream attempt failed before anything reached the client. */
export interface UpstreamFailure {
  readonly kind: 'connect_failure' | 'reset' | 'timeout' | 'status' | 'overflow'
  readonly status?: number
  /** The upstream's Retry-After header, verbatim. */
  readonly retryAfter?: string
  /** The upstream said the prompt exceeds the model's context window. */
  readonly contextLength?: boolean
}

/** How an attempt failed, as observers hear it: an upstream failure, or the client went away. */
export type AttemptFailure = UpstreamFailure | { readonly kind: 'client_abort' }

/** What follows a failed attempt: another try on the cluster, the next fallback, a continuation of the stream, or nothing. */
export type AttemptNext = 'retry' | 'fallback' | 'continue' | 'none'

/**
 * Lifecycle of each upstream attempt of a request, for metrics, tracing, cache fill and usage
 * accounting (all optional, like a Filter's hooks; compileAttemptObservers builds the lists).
 * Each started attempt ends in exactly one onAttemptEnd or onAttemptFailed, except one the provider
 * refuses before sending it (an unsupported operation, a request it cannot translate: the request's
 * own onComplete sees that). In-process providers (mock) report the start only.
 * Observers run on the request path: keep them cheap; one that throws is logged and skipped.
 */
export interface AttemptObserver {
  /** `attempt` counts from 1 across retries and fallbacks. */
  onAttemptStart?(ctx: RequestContext, cluster: CompiledCluster, endpoint: CompiledEndpoint, attempt: number): void
  /** The upstream answered with this status (before the gateway decides to hold, retry or pass it on). */
  onResponseStart?(ctx: RequestContext, status: number): void
  /** A body chunk of `bytes` bytes arrived from the upstream. */
  onResponseChunk?(ctx: RequestContext, bytes: number): void
  /** The attempt's answer reached the client in full (ctx.status says which; usage when known). */
  onAttemptEnd?(ctx: RequestContext, usage: Usage | undefined): void
  onAttemptFailed?(ctx: RequestContext, failure: AttemptFailure, next: AttemptNext): void
}

/** One array per hook, so an unobserved request runs empty loops and allocates nothing. */
export interface CompiledAttemptObservers {
  readonly onAttemptStart: readonly AttemptObserver[]
  readonly onResponseStart: readonly AttemptObserver[]
  readonly onResponseChunk: readonly AttemptObserver[]
  readonly onAttemptEnd: readonly AttemptObserver[]
  readonly onAttemptFailed: readonly AttemptObserver[]
}

/**
 * Set on ctx when the route retries or fails over. Providers consult it before answering an
 * upstream failure; `takeOver` returning true means the gateway will try again and the provider
 * must drop this attempt without touching the client.
 */
export interface AttemptControl {
  wantsStatus(status: number): boolean
  takeOver(failure: UpstreamFailure): boolean
  readonly attempts: number
  /** The request is over: give back any retry slot. */
  release(): void
  /** Records what the client received, when the route may continue a broken stream. */
  readonly recorder: import('./upstream/stream-recovery.js').StreamRecorder | undefined
  /** Set while a continuation attempt runs: its chunks are rewritten into the original stream. */
  continuation: import('./upstream/stream-recovery.js').ContinuationRewriter | undefined
  /** A stream broke after the client got chunks: true when a continuation has been started. */
  continueStream(failure: UpstreamFailure): boolean
}

export interface CompiledRetry {
  readonly retryOn: (f: UpstreamFailure) => boolean
  readonly numRetries: number
  readonly perTryTimeoutMs: number | undefined
  readonly baseIntervalMs: number
  readonly maxIntervalMs: number
  readonly retryAfterCapMs: number
  /** Statuses worth holding a response back for. */
  readonly statuses: (status: number) => boolean
}

export interface CompiledRoute {
  readonly name: string
  readonly index: number
  readonly test: (head: RequestHead) => boolean
  readonly action: CompiledAction
  readonly chain: CompiledChain
  readonly timeoutMs: number | undefined
  readonly firstTokenTimeoutMs: number | undefined
  readonly idleTimeoutMs: number | undefined
  readonly modelRewrite: string | undefined
  readonly retry: CompiledRetry | undefined
  readonly fallbackOn: ((f: UpstreamFailure) => boolean) | undefined
  readonly streamRecovery: 'error' | 'continue'
  /** `tracing.capture_content`: sampled requests record their messages on the attempt span (undefined: never). */
  readonly contentCapture?: ContentCaptureIR | undefined
  /** Subscribers to this route's attempt lifecycle (none when undefined). */
  readonly attemptObservers?: CompiledAttemptObservers
}

export interface RouteTable {
  readonly name: string
  readonly routes: readonly CompiledRoute[]
  match(head: RequestHead): CompiledRoute | undefined
  /**
   * For a request no rule matched: whether a rule would have, but for its tenant, label or claim
   * conditions (then the caller is refused 403 rather than told there is no route). Off the hot path.
   */
  servesOtherIdentities?(head: RequestHead): boolean
}

export interface CompiledListener {
  readonly name: string
  readonly address: string
  readonly port: number
  readonly protocol: Protocol
  readonly maxBodyBytes: number
  readonly routingHeaders: boolean
  readonly table: RouteTable
  readonly filterNames: readonly string[]
  /** GET /v1/models answer when no rule claims that path: the models this listener routes. */
  readonly modelsReply: LocalReply
  /** GET /v1/models/<id> answers when no rule claims that path, by id and alias (runtime/models/listing.ts). */
  readonly modelReplies?: ReadonlyMap<string, LocalReply>
  /** A model registry lists the models: GET /v1/models[/<id>] is answered before routing (no rule names the path). */
  readonly modelsFirst?: true
  /** The two answers above for an identified caller: only what its tenant and key may use (runtime/models/listing.ts). */
  readonly modelsFor?: (head: RequestHead, identity: import('./identity/tables.js').IdentityTables) => {
    readonly modelsReply: LocalReply
    readonly modelReplies: ReadonlyMap<string, LocalReply>
  }
  /** Chain used before a route matches (404s, 413s, filter replies). */
  readonly chain: CompiledChain
  /** The listener's pre-route (auth) filters' onRequest hooks, run before the route match. */
  readonly preRoute: readonly Filter[]
  /** `access_log` (or SWITCHYARD_ACCESS_LOG=1): writes one record per request; undefined when off. */
  readonly accessLog?: { write(ctx: RequestContext): void }
  /** `batches.listeners` names it: `/v1/files…` and `/v1/batches…` go to the batch service before the route table. */
  readonly batchApi?: true
}


export interface CompiledEndpoint {
  readonly url: string
  /** What clients see in x-switchyard-endpoint (never the URL). */
  readonly name: string
  /** Stable identity across snapshots: `<cluster>|<url>`. */
  readonly key: string
  readonly weight: number
  readonly origin: string
  readonly basePath: string
  /** Undefined for in-process providers (mock). */
  readonly pool: Dispatcher | undefined
  /** Headers every upstream request to this endpoint carries (credentials), flat [k, v, k, v]. */
  readonly baseHeaders: readonly string[]
  readonly hasCredentials: boolean
  readonly stats: EndpointStats
}

export interface LoadBalancer {
  pick(head: RequestHead): CompiledEndpoint
  /** Per-endpoint state worth showing in /clusters (by url), for balancers that have any. */
  describe?(): Record<string, unknown>
}

export interface ProviderAdapter {
  /** Forwards ctx to the endpoint and answers ctx.downstream; never throws. */
  forward(ctx: RequestContext, endpoint: CompiledEndpoint, timeoutMs: number): void
}

export interface CompiledCluster {
  readonly name: string
  /** The cluster's concurrency and retry limits (circuit_breakers), read by dispatch and the retry layer. */
  readonly limits: ClusterIR['limits']
  /** Below this share of eligible endpoints the balancer ignores health (panic mode), as a fraction. */
  readonly panicThreshold: number
  /** The response header an endpoint reports its load in (dynamic weights), if any. */
  readonly loadHeader: string | undefined
  readonly connectTimeoutMs: number
  readonly endpoints: readonly CompiledEndpoint[]
  readonly lb: LoadBalancer
  readonly provider: ProviderAdapter
  readonly timeoutMs: number
  readonly firstTokenTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly modelMap: Readonly<Record<string, string>>
  readonly stats: ClusterStats
  /** The cluster's default retry policy (a route's own replaces it). */
  readonly retry: CompiledRetry | undefined
  /** How this cluster is given the text of a broken stream to continue. */
  readonly continuationPrefill: import('../compiler/ir.js').ContinuationPrefill
  /** Connection cap of each endpoint pool in this worker: pool.connections, lowered by max_connections. */
  readonly poolConnections: number
  /** Undefined when the cluster has no health check, outlier detection, breaker or latency LB. */
  readonly guard: EndpointGuard | undefined
}

/** What one request showed about an endpoint: recorded by the upstream call, judged by outlier detection. */
export type Outcome =
  | { readonly kind: 'success'; readonly latencyMs?: number }
  | { readonly kind: 'http5xx'; readonly latencyMs?: number }
  | { readonly kind: 'gateway_error' }
  | { readonly kind: 'rate_limited'; readonly retryAfter?: string }

/** A cluster's per-endpoint health, outlier and breaker state (endpoint-guard.ts builds it). */
export interface EndpointGuard {
  /** May this endpoint be picked now? (Does not take a half-open probe slot.) */
  eligible(e: CompiledEndpoint): boolean
  /** May it take this request? Like eligible(), and a half-open breaker counts the probe here. */
  take(e: CompiledEndpoint): boolean
  record(e: CompiledEndpoint, outcome: Outcome): void
  /** The request ended with no verdict on the endpoint (the client left before one). */
  abandon(e: CompiledEndpoint): void
  /** Why each endpoint is (not) eligible, for the admin API. */
  describe(): Record<string, unknown>
}

export interface Snapshot {
  readonly version: string
  readonly source: string
  readonly loadedAt: string
  readonly listeners: ReadonlyMap<number, CompiledListener>
  readonly clusters: ReadonlyMap<string, CompiledCluster>
  /** Pool keys this snapshot holds a reference on; released when it retires. */
  readonly poolKeys: readonly string[]
  /** Masks the config's secret values in anything an upstream sends back (errors, headers). */
  readonly scrub: import('./upstream/scrub.js').Scrubber
  /** The tenants and the key table (never holding a secret), for the auth filters. */
  readonly identity: import('./identity/tables.js').IdentityTables
  /** The model registry (runtime/models/registry.ts); absent when the config has none. */
  readonly models?: import('./models/registry.js').ModelRegistry
}

/** Long-lived state keyed by stable identity; outlives snapshots (DESIGN invariant 3). */
export interface Stores {
  readonly pools: PoolStore
  /** Worker threads sharing the process-wide counters (1 outside the gateway). */
  readonly workers: number
  /** Counters of one endpoint (`<cluster>|<url>`), feeding the cluster's counters too. */
  endpointStats(key: string, cluster?: ClusterStats): EndpointStats
  clusterStats(name: string): ClusterStats
  /** LB state (e.g. smooth-WRR current weights) keyed by cluster + endpoint set. */
  lbState<T>(key: string, init: () => T): T
  /** Failed-authentication counts of one auth filter (by its name and limits): they outlive snapshots. */
  authFailures(key: string, config: import('./identity/auth-failures.js').AuthFailureLimitConfig): import('./identity/auth-failures.js').AuthFailureLimiter
  /** The JWKS source of one URL (with its options): a reload keeps the fetched keys. */
  jwks(options: import('./identity/jwks-source.js').JwksSourceOptions): import('./identity/jwks-source.js').JwksSource
  /** The process's table of `scope: local` limit buckets (shared by its workers); buckets outlive snapshots. */
  limitTable(): import('./limits/local-limiter.js').LimitTable
  /** One Redis connection per `redis` block (by its settings); it outlives snapshots that keep the block. */
  redis(config: import('../compiler/ir.js').RedisIR): import('./limits/redis-connection.js').RedisConnection
  /** The worker's response cache (memory tier of `maxBytes`, single flight, counts); outlives snapshots. */
  responseCache(maxBytes: number): import('./cache/cache-store.js').CacheStore
  /** The worker's semantic-cache index of one namespace and bounds (`key`), made by `create` on first use; outlives snapshots. */
  semanticIndex(key: string, create: () => import('./cache/semantic/semantic-state.js').SemanticState): import('./cache/semantic/semantic-state.js').SemanticState
  /** Every response cache of the worker (a cross-host invalidation drops entries from all of them). */
  responseCaches?(): import('./cache/cache-store.js').CacheStore[]
  /** A name unique to this process's worker pool: BroadcastChannels named after it reach the sibling workers (undefined: no siblings). */
  readonly siblingGroup?: string
  /** The live candidate share of a rollout (`<table>/<rule>`), set by the main thread; 0 % without shared state. */
  rolloutShare?(key: string): import('../shared/shared-state.js').RolloutShare
  /** The process's session memory store of `maxBytes` (held by the main thread when there is one). */
  sessions?(maxBytes: number): import('./sessions/session-store.js').SessionStore
}

export interface PoolOptions {
  connections: number
  keepAliveMs: number
  connectTimeoutMs: number
  /** `pool.protocol` (default http1). */
  protocol?: 'http1' | 'http2'
  /** Streams per HTTP/2 connection. */
  maxConcurrentStreams?: number
  /** Builds a dispatcher that is not an undici pool (kserve_grpc's channels); reference-counted the same way. */
  create?: () => Dispatcher
}

export interface PoolStore {
  acquire(key: string, origin: string, opts: PoolOptions): Dispatcher
  release(key: string): void
  closeAll(): Promise<void>
}
