/** The `prices` section: per-model prices per million tokens, in the order written (globs are tried in order). */
import type { PriceIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import type { MergedConfig } from './merge.js'
import { below } from './positions.js'

export function resolvePrices(config: MergedConfig, ctx: ResolveContext): PriceIR[] {
  const p = config.prices
  if (!p) return []
  ctx.positions.record(['prices'], p)
  const seen = new Set<string>()
  return p.value.map((e, i) => {
    if (seen.has(e.model)) ctx.report('SY_CFG_DUPLICATE', below(p, i, 'model'), `model '${e.model}' is priced twice`)
    seen.add(e.model)
    return { model: e.model, input: e.input, output: e.output, ...(e.cached_input !== undefined && { cachedInput: e.cached_input }) }
  })
}
