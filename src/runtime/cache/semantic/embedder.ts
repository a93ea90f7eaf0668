/**
 * Turns a text into a unit vector through the configured embeddings cluster (any provider the
 * gateway speaks that serves POST /v1/embeddings), by the runtime's own side-call path
 * (upstream/cluster-call.ts): the cluster's balancer, credentials, limits and breakers apply.
 *
 * It never fails the request: a timeout (the semantic block's own) is `'timeout'`; an error
 * status, an answer without a usable vector, or a missing cluster is `'error'` — the caller treats
 * either as a miss — and is counted.
 */
import type { RequestContext } from '../../types.js'
import { callCluster } from '../../upstream/cluster-call.js'
import { log } from '../../../shared/log.js'
import type { SemanticPolicy } from './semantic-policy.js'

export interface EmbedderCounts {
  calls: number
  timeouts: number
  failures: number
}

/** Why no vector came back: the call ran out of time, or it failed (status, answer, cluster). */
export type EmbedFailure = 'timeout' | 'error'

export class Embedder {
  readonly counts: EmbedderCounts = { calls: 0, timeouts: 0, failures: 0 }
  /** Logged once per failure kind per instance (a snapshot's filter): a down cluster must not flood the log. */
  private readonly logged = new Set<string>()

  constructor(private readonly policy: SemanticPolicy) {}

  async embed(ctx: RequestContext, text: string): Promise<Float32Array | EmbedFailure> {
    const cluster = ctx.snapshot.clusters.get(this.policy.cluster)
    if (cluster === undefined) return this.failed('no such cluster in this snapshot')
    this.counts.calls++
    const r = await callCluster(ctx.snapshot, cluster, {
      path: '/v1/embeddings',
      json: { model: this.policy.model, input: text },
      timeoutMs: this.policy.timeoutMs,
      requestId: ctx.requestId,
    })
    if (!r.ok) {
      if (r.reason === 'timeout') {
        this.counts.timeouts++
        this.once('timeout', `embedding call to cluster '${this.policy.cluster}' timed out after ${this.policy.timeoutMs} ms; answering as a miss`)
        return 'timeout'
      }
      return this.failed('the side call failed')
    }
    if (r.status !== 200) return this.failed(`status ${r.status}`)
    const v = vectorOf(r.body)
    return v ?? this.failed('no embedding in the answer')
  }

  private failed(why: string): 'error' {
    this.counts.failures++
    this.once(why, `embedding call to cluster '${this.policy.cluster}' failed (${why}); answering as a miss`)
    return 'error'
  }

  private once(kind: string, message: string): void {
    if (this.logged.has(kind)) return
    this.logged.add(kind)
    log('warn', message, { cluster: this.policy.cluster })
  }
}

/** `data[0].embedding` of an OpenAI embeddings answer, scaled to unit length; undefined if absent or zero. */
export function vectorOf(body: Buffer): Float32Array | undefined {
  let doc: any
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  const e = doc?.data?.[0]?.embedding
  if (!Array.isArray(e) || e.length === 0 || e.length > 65_536) return undefined
  const v = new Float32Array(e.length)
  for (let i = 0; i < e.length; i++) {
    const x = e[i]
    if (typeof x !== 'number' || !Number.isFinite(x)) return undefined
    v[i] = x
  }
  return normalised(v)
}

/** The vector scaled to length 1 (cosine similarity is then a dot product), or undefined for a zero vector. */
export function normalised(v: Float32Array): Float32Array | undefined {
  let n = 0
  for (let i = 0; i < v.length; i++) n += v[i] * v[i]
  if (!(n > 0)) return undefined
  const s = 1 / Math.sqrt(n)
  for (let i = 0; i < v.length; i++) v[i] *= s
  return v
}
