/**
 * Label values that depend only on config, computed once per snapshot, and the request-time
 * folds that keep label cardinality bounded: a model is a label value only when the config names
 * it (anything else is `other`), statuses are classes, operations and providers are fixed sets.
 */
import type { ClusterIR, SnapshotIR } from '../../compiler/ir.js'
import { servedModels } from '../providers/mock.js'
import { operationOf } from '../providers/caller.js'
import type { RequestContext } from '../types.js'

/** Every model name the config spells out: exact `model` matches, rewrites, model_map keys and values, `models`. */
export function configuredModels(ir: SnapshotIR): ReadonlySet<string> {
  const names = new Set<string>()
  for (const c of ir.clusters) {
    for (const m of servedModels(c)) names.add(m)
    for (const m of Object.values(c.modelMap)) names.add(m)
  }
  for (const t of ir.routeTables) {
    for (const r of t.rules) {
      if (r.match.model?.kind === 'exact') names.add(r.match.model.value)
      if (r.modelRewrite !== undefined) names.add(r.modelRewrite)
      if (r.action.kind === 'fallback') for (const c of r.action.clusters) if (c.modelRewrite !== undefined) names.add(c.modelRewrite)
    }
  }
  return names
}

/** OpenTelemetry's `gen_ai.provider.name` for each preset; presets it has no name for keep ours. */
const GEN_AI_PROVIDER: Readonly<Record<string, string>> = {
  openai: 'openai',
  azure_openai: 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  bedrock: 'aws.bedrock',
}

export function genAiProviders(clusters: readonly ClusterIR[]): ReadonlyMap<string, string> {
  return new Map(clusters.map((c) => [c.name, GEN_AI_PROVIDER[c.provider] ?? c.provider]))
}

/** `gen_ai.operation.name`: the Chat Completions, Messages and Responses APIs are all `chat`. */
export function genAiOperation(path: string): string {
  switch (operationOf(path)) {
    case 'chat':
    case 'messages':
    case 'responses':
      return 'chat'
    case 'embeddings':
      return 'embeddings'
    default:
      return 'other'
  }
}

/** The API the caller spoke: the listener's protocol, or the Responses API. */
export function callerProtocol(ctx: RequestContext): string {
  return ctx.head.path.startsWith('/v1/responses') ? 'responses' : ctx.protocol
}

const CLASSES = ['', '1xx', '2xx', '3xx', '4xx', '5xx']

/** `2xx` … `5xx`; `aborted` when the client left before any status was sent. */
export function statusClass(status: number): string {
  if (status === 0) return 'aborted'
  return CLASSES[Math.floor(status / 100)] ?? 'other'
}

/** Whether the caller asked for a stream (TTFT is measured for streams only, as GenAI defines it). */
export function isStreaming(ctx: RequestContext): boolean {
  return ctx.json?.stream === true || ctx.head.path.includes(':streamGenerateContent')
}
