/**
 * The `semantic` block of a cache filter's config (schemas/filters/cache.schema.json), compiled
 * once: which cluster embeds, with which model, what counts as the same question (threshold, what
 * is embedded) and the bounds of the vector index.
 */
import { durationMs, sizeBytes } from '../../../shared/units.js'

/** As in the schema (validated, defaults filled by the compiler). */
export interface SemanticConfig {
  enabled?: boolean
  cluster?: string
  model?: string
  threshold?: number
  embed?: 'last_user_message' | 'prompt'
  timeout?: string
  max_entries?: number
  max_bytes?: string
}

export interface SemanticPolicy {
  readonly cluster: string
  readonly model: string
  /** Cosine similarity at or above which the nearest stored prompt answers. */
  readonly threshold: number
  /**
   * `last_user_message`: embed it; the rest of the conversation (system prompt, earlier turns) must
   * then be identical. `prompt`: embed the whole conversation; only the parameters must match.
   */
  readonly embed: 'last_user_message' | 'prompt'
  readonly timeoutMs: number
  readonly maxEntries: number
  readonly maxBytes: number
}

/** undefined when the block is absent or off. `clusters`: the snapshot's cluster names, to check the reference. */
export function compileSemanticPolicy(c: SemanticConfig | undefined, clusters: ReadonlySet<string> | undefined): SemanticPolicy | undefined {
  if (c === undefined || c.enabled !== true) return undefined
  if (c.cluster === undefined) throw new Error('semantic.cluster is required when semantic.enabled is true (the cluster that answers POST /v1/embeddings)')
  if (clusters !== undefined && !clusters.has(c.cluster)) throw new Error(`semantic.cluster '${c.cluster}' is not a configured cluster (known: ${[...clusters].join(', ') || 'none'})`)
  const timeoutMs = durationMs(c.timeout ?? '500ms')
  if (!(timeoutMs > 0)) throw new Error('semantic.timeout must be greater than 0')
  return {
    cluster: c.cluster,
    model: c.model ?? 'text-embedding-3-small',
    threshold: c.threshold ?? 0.95,
    embed: c.embed ?? 'last_user_message',
    timeoutMs,
    maxEntries: c.max_entries ?? 10_000,
    maxBytes: sizeBytes(c.max_bytes ?? '32mb'),
  }
}
