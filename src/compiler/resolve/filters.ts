/** Filters: each configured filter's type and its config with references resolved. */
import type { FilterIR } from '../ir.js'
import type { ResolveContext } from './context.js'
import { below } from './positions.js'
import type { MergedConfig } from './merge.js'
import { resolveWasmFilter } from '../wasm/resolve-wasm.js'
import { resolvePluginFilter } from './plugins.js'

export function resolveFilters(config: MergedConfig, ctx: ResolveContext): FilterIR[] {
  const out: FilterIR[] = []
  for (const [name, f] of config.filters) {
    const at = ['filters', out.length]
    const cfg = below(f, 'config')
    ctx.positions.record(at, f)
    ctx.positions.record([...at, 'config'], cfg)
    // A WASM module is read, checked and instrumented here; its bytes travel in the IR.
    if (f.value.type === 'wasm') out.push({ name, type: 'wasm', config: { ...resolveWasmFilter(name, f, cfg, ctx) } })
    else {
      const config = f.value.type === 'plugin' ? resolvePluginFilter(name, f, ctx) : undefined
      out.push({ name, type: f.value.type, config: config ?? ctx.secrets.deep(f.value.config ?? {}, cfg) })
    }
  }
  return out
}
