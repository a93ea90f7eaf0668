/**
 * Embedding micro-batching (a cluster's `embedding_batching`): concurrent `POST /v1/embeddings`
 * requests that differ only in `input` are gathered for up to `window` or `max_inputs` inputs and
 * sent as one upstream request; each member is answered its own vectors, in its order, with its
 * share of the usage (by characters or tokens, adding up to what the provider reported).
 *
 * It wraps the cluster's provider adapter, so the batch's one upstream call is an ordinary exchange
 * (upstream-call.ts): the same target, credentials, timeouts, endpoint verdicts and error
 * classification. That exchange runs on a batch context — a copy of the first member's with its
 * own collecting downstream, no filters and no access record — whose attempt control hands a
 * failure to every member's own retry layer: a member whose route retries it goes again (and joins
 * the next batch), the others get the same error answer. Nothing else changes for a member: its
 * filters, metrics and access record see one request answered with status, headers and usage.
 *
 * A member whose client left before the flush is not sent; one that leaves while the batch is
 * upstream is dropped from the result; when every member has left, the upstream call is aborted.
 */
import type {
  AttemptControl, CompiledChain, CompiledEndpoint, Downstream, ProviderAdapter, RequestContext, UpstreamFailure,
} from '../types.js'
import { operationOf } from '../providers/caller.js'
import { complete, finishResponse, sendError, startResponse } from '../http/respond.js'
import { guarded } from '../internal-error.js'
import { emitAttemptEnd, emitAttemptFailed, NO_ATTEMPT_OBSERVERS } from './attempt-events.js'
import { batchKey, memberBody, memberInputs, readBatchAnswer, shares, type MemberInputs } from './embedding-batch.js'

export interface EmbeddingBatchingOptions {
  readonly windowMs: number
  readonly maxInputs: number
}

interface Member {
  readonly ctx: RequestContext
  readonly inputs: MemberInputs
  /** Index of its first input in the batch's input list (set at flush). */
  from: number
  /** Still waiting for its answer (not retried elsewhere, not answered, client still there). */
  live: boolean
}

const NO_HOOKS: CompiledChain = Object.freeze({ names: [], onRequest: [], onResponse: [], onChunk: [], onComplete: [] })
const JSON_HEADERS: readonly [string, string] = ['content-type', 'application/json']
const CUT_OFF: UpstreamFailure = Object.freeze({ kind: 'reset' })

/**
 * @example
 * // build/clusters.ts
 * const provider = c.embeddingBatching ? withEmbeddingBatching(createHttpProvider(c), c.embeddingBatching) : createHttpProvider(c)
 */
export function withEmbeddingBatching(inner: ProviderAdapter, opts: EmbeddingBatchingOptions): ProviderAdapter {
  const open = new Map<string, Batch>()
  const flush = (b: Batch) => {
    if (open.get(b.key) === b) open.delete(b.key)
    b.send(inner)
  }
  return {
    forward(ctx, endpoint, timeoutMs) {
      const json = ctx.json
      if (ctx.head.method !== 'POST' || operationOf(ctx.head.path) !== 'embeddings' || json === null || typeof json !== 'object' || Array.isArray(json)) return inner.forward(ctx, endpoint, timeoutMs)
      const inputs = memberInputs(json)
      if (inputs === undefined || inputs.list.length >= opts.maxInputs) return inner.forward(ctx, endpoint, timeoutMs)
      const credential = endpoint.hasCredentials ? '' : ctx.headers.authorization ?? ctx.headers['api-key'] ?? ''
      const key = batchKey(json, ctx.head.path, ctx.head.query, inputs.kind, credential)
      let b = open.get(key)
      if (b !== undefined && b.inputs + inputs.list.length > opts.maxInputs) {
        flush(b)
        b = undefined
      }
      if (b === undefined) {
        b = new Batch(key, endpoint, timeoutMs)
        open.set(key, b)
        b.timer = setTimeout(flushLater, opts.windowMs, b, flush)
      }
      b.add(ctx, inputs)
      if (b.inputs >= opts.maxInputs) flush(b)
    },
  }
}

function flushLater(b: Batch, flush: (b: Batch) => void): void {
  flush(b)
}

class Batch {
  readonly members: Member[] = []
  inputs = 0
  timer: NodeJS.Timeout | undefined
  private sent = false
  /** The batch's own request context, once sent. */
  private call: RequestContext | undefined
  /** The members sent upstream (their inputs, in this order, make up the batch). */
  private sentMembers: Member[] = []
  private sentInputs = 0

  constructor(readonly key: string, readonly endpoint: CompiledEndpoint, readonly timeoutMs: number) {}

  add(ctx: RequestContext, inputs: MemberInputs): void {
    const m: Member = { ctx, inputs, from: 0, live: true }
    this.members.push(m)
    this.inputs += inputs.list.length
    // The member's client may leave while it waits or while the batch is upstream.
    ctx.exchange = { onClientAbort: () => this.left(m) }
  }

  send(inner: ProviderAdapter): void {
    if (this.sent) return
    this.sent = true
    clearTimeout(this.timer)
    const live = this.members.filter((m) => m.live && !m.ctx.finished && !m.ctx.downstream.aborted)
    if (live.length === 0) return
    this.sentMembers = live
    const input: (string | readonly number[])[] = []
    for (const m of live) {
      m.from = input.length
      for (const x of m.inputs.list) input.push(x)
    }
    this.sentInputs = input.length
    const leader = live[0].ctx
    const json = { ...leader.json, input }
    const collector = new CollectedAnswer()
    const attempt = new BatchAttempt(this)
    const call: RequestContext = {
      ...leader,
      id: `${leader.id}.batch`,
      listener: { ...leader.listener, accessLog: undefined, routingHeaders: false },
      json,
      body: Buffer.from(JSON.stringify(json)),
      downstream: collector,
      chain: NO_HOOKS,
      attempt,
      attemptObservers: NO_ATTEMPT_OBSERVERS,
      filterState: undefined,
      responseHeaders: [],
      status: 0,
      usage: undefined,
      finished: false,
      exchange: undefined,
      usageInjected: false,
      onDone: () => guarded(leader, 'embedding batch', () => this.answer(collector, call)),
      firstByteAt: 0,
      bytesOut: 0,
    }
    this.call = call
    inner.forward(call, this.endpoint, this.timeoutMs)
  }

  /** Members still waiting. */
  live(): Member[] {
    return this.members.filter((m) => m.live && !m.ctx.finished && !m.ctx.downstream.aborted)
  }

  private left(m: Member): void {
    if (!m.live) return
    m.live = false
    complete(m.ctx)
    // Tokens cost money: nobody is left to read the batch's answer.
    if (this.call !== undefined && this.live().length === 0) this.call.exchange?.onClientAbort()
  }

  /** A failure of the batch, offered to each member's own retry layer; true when none is left to answer. */
  takeOver(f: UpstreamFailure): boolean {
    for (const m of this.live()) {
      const a = m.ctx.attempt
      // The member's attempt is over; its retry layer may start another (which joins a new batch).
      if (a !== undefined) {
        m.ctx.exchange = undefined
        if (a.takeOver(f)) m.live = false
      }
    }
    return this.live().length === 0
  }

  wantsStatus(status: number): boolean {
    for (const m of this.live()) if (m.ctx.attempt?.wantsStatus(status)) return true
    return false
  }

  /** The batch's exchange ended: each member still waiting gets its part, or the same error. */
  private answer(collected: CollectedAnswer, call: RequestContext): void {
    const members = this.live()
    if (members.length === 0) return
    const status = call.status
    const body = collected.body()
    if (status < 200 || status >= 300 || !collected.ended) {
      // Every member fails the same way: the batch's status and error body, in the caller's protocol.
      for (const m of members) {
        m.live = false
        m.ctx.exchange = undefined
        // Each member's observers (metrics, tracing) hear its attempt fail as the batch's did.
        emitAttemptFailed(m.ctx, collected.ended ? { kind: 'status', status } : CUT_OFF, 'none')
        if (!collected.ended) sendError(m.ctx, 'SY_UPSTREAM_CONNECT', 'the batched embeddings request was cut off')
        else answerWith(m.ctx, status, [JSON_HEADERS], body)
      }
      return
    }
    const a = readBatchAnswer(body, this.sentInputs)
    if (typeof a === 'string') {
      for (const m of members) {
        m.live = false
        m.ctx.exchange = undefined
        sendError(m.ctx, 'SY_UPSTREAM_CONNECT', a)
      }
      return
    }
    // Shares over every member sent (one that left still had its inputs embedded: its share is not
    // moved onto the others).
    const sent = this.sentMembers
    const prompt = shares(a.promptTokens, sent.map((m) => m.inputs.weight))
    const total = shares(a.totalTokens, sent.map((m) => m.inputs.weight))
    const size = String(sent.length)
    for (let i = 0; i < sent.length; i++) {
      const m = sent[i]
      if (!m.live || m.ctx.finished || m.ctx.downstream.aborted) continue
      m.live = false
      m.ctx.exchange = undefined
      m.ctx.usage = { inputTokens: prompt[i], outputTokens: 0 }
      answerWith(m.ctx, 200, [JSON_HEADERS, ['x-switchyard-batch-size', size]], memberBody(a, m.from, m.inputs.list.length, prompt[i], total[i]))
      emitAttemptEnd(m.ctx, m.ctx.usage)
    }
  }
}

function answerWith(ctx: RequestContext, status: number, headers: readonly (readonly [string, string])[], body: Buffer): void {
  if (ctx.finished) return
  startResponse(ctx, status, headers.map(([k, v]) => [k, v]))
  finishResponse(ctx, body)
}

/** The batch's attempt control: the batch's failure becomes each member's (see Batch.takeOver). */
class BatchAttempt implements AttemptControl {
  readonly attempts = 1
  readonly recorder = undefined
  continuation = undefined
  constructor(private readonly batch: Batch) {}
  wantsStatus(status: number): boolean {
    return this.batch.wantsStatus(status)
  }
  takeOver(f: UpstreamFailure): boolean {
    return this.batch.takeOver(f)
  }
  release(): void {}
  continueStream(): boolean {
    return false
  }
}

/** The batch's downstream: keeps the answer's bytes for the split (an error or a list of vectors: small). */
class CollectedAnswer implements Downstream {
  aborted = false
  ended = false
  private readonly parts: Buffer[] = []
  onAbort(): void {}
  onWritable(): void {}
  writeHead(): void {}
  write(chunk: Uint8Array | string): boolean {
    this.parts.push(Buffer.from(chunk))
    return true
  }
  end(chunk?: Uint8Array | string): void {
    if (chunk !== undefined) this.parts.push(Buffer.from(chunk))
    this.ended = true
  }
  close(): void {}
  /** An internal answer has no client connection. */
  remoteAddress(): string {
    return ''
  }
  body(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts)
  }
}
