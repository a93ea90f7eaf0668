/**
 * The `batches` section: the Batch API's listeners (named ones must exist and speak openai; none
 * named means every openai listener) and its queue settings, with the schema's defaults, lowered
 * to BatchesIR.
 */
import type { BatchesIR, ListenerIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import type { MergedConfig } from './merge.js'
import { below } from './positions.js'
import { durationMs, sizeBytes } from '../../shared/units.js'

export function resolveBatches(config: MergedConfig, listeners: readonly ListenerIR[], ctx: ResolveContext): BatchesIR | undefined {
  const b = config.batches
  if (b === undefined) return undefined
  ctx.positions.record(['batches'], b)
  const v = b.value
  const byName = new Map(listeners.map((l) => [l.name, l]))
  const named = v.listeners as string[] | undefined
  named?.forEach((name, i) => {
    const l = byName.get(name)
    if (l === undefined) ctx.report('SY_CFG_BATCHES', below(b, 'listeners', i), `unknown listener '${name}' (known: ${[...byName.keys()].join(', ') || 'none'})`)
    else if (l.protocol !== 'openai') ctx.report('SY_CFG_BATCHES', below(b, 'listeners', i), `listener '${name}' speaks ${l.protocol}; the Batch API is OpenAI's, so its listeners must speak openai`)
  })
  return {
    servers: v.nats.servers,
    connectTimeoutMs: durationMs(v.nats.connect_timeout ?? '5s'),
    stream: v.stream ?? 'SWITCHYARD_BATCH',
    replicas: v.replicas ?? 1,
    storageDir: v.storage?.dir ?? 'switchyard-files',
    listeners: named ?? listeners.filter((l) => l.protocol === 'openai').map((l) => l.name),
    concurrency: v.concurrency ?? 16,
    yieldToInteractive: v.yield_to_interactive ?? 64,
    maxFileBytes: sizeBytes(v.max_file_size ?? '100mb'),
    maxLines: v.max_lines ?? 50000,
    maxCompletionWindowMs: durationMs(v.max_completion_window ?? '168h'),
    ackWaitMs: durationMs(v.ack_wait ?? '30s'),
    maxAttempts: v.max_attempts ?? 5,
    lineTimeoutMs: durationMs(v.line_timeout ?? '10m'),
  }
}
