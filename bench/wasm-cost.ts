// `node dist/bench/wasm-cost.js`: the CPU a no-op proxy-wasm filter (wasm-noop.ts: five callbacks)
// adds per request, measured in-process on the filter's own hooks (onRequest, onResponse,
// onComplete on a request-shaped context), minus the same loop without the filter. Process CPU
// time, not wall time, so a busy box slows it down without skewing it much; three rounds printed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileConfig, formatDiagnostic } from '../src/compiler/index.js'
import type { WasmFilterIR } from '../src/compiler/ir.js'
import type { RequestContext } from '../src/runtime/types.js'
import { create } from '../src/runtime/plugins/wasm/filter.js'
import { writeNoopPlugin } from './wasm-noop.js'

const N = Number(process.env.BENCH_WASM_N ?? 200_000)

const dir = mkdtempSync(join(tmpdir(), 'switchyard-wasm-cost-'))
try {
  const module = await writeNoopPlugin(dir)
  const r = compileConfig([{ name: join(dir, 'c.yaml'), baseDir: dir, text: `
listeners: [{ name: api, port: 18080, route_table: main, filters: [noop] }]
routes: [{ name: main, rules: [{ cluster: m }] }]
clusters: [{ name: m, provider: mock }]
filters: [{ name: noop, type: wasm, config: { module: "${module}" } }]` }], { source: 'bench' })
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'))
  const filter = create(r.ir.filters[0].config as unknown as WasmFilterIR, { stores: undefined as never })
  const request = () => ({
    id: 'b', requestId: 'b', protocol: 'openai', status: 200, filterState: undefined, json: {}, body: Buffer.from('{"model":"gpt-4o"}'),
    head: { method: 'POST', path: '/v1/chat/completions', query: '', headers: {}, model: 'gpt-4o' },
    headers: { host: 'gw', 'content-type': 'application/json', authorization: 'Bearer x', 'user-agent': 'bench' },
    responseHeaders: [['content-type', 'application/json']],
  }) as unknown as RequestContext
  const cpu = (fn: () => void) => {
    const c0 = process.cpuUsage()
    fn()
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / N
  }
  for (let round = 1; round <= 3; round++) {
    const withPlugin = cpu(() => {
      for (let i = 0; i < N; i++) {
        const ctx = request()
        filter.onRequest!(ctx)
        filter.onResponse!(ctx)
        filter.onComplete!(ctx)
      }
    })
    const without = cpu(() => {
      for (let i = 0; i < N; i++) request().filterState = {}
    })
    console.log(`round ${round}: ${(withPlugin - without).toFixed(2)} µs CPU per request for the no-op WASM filter (${withPlugin.toFixed(2)} with it, ${without.toFixed(2)} without; ${N} requests)`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
