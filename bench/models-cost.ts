/**
 * What the model registry costs one request, in process: dispatch() in a tight loop on the mock
 * provider (synchronous, so a request is pure gateway CPU), one snapshot per variant, variants
 * interleaved round by round, the median CPU ns per request reported (CPU time: on a shared box a
 * descheduled round would otherwise count other tenants' work). Then the registry's two steps
 * alone (requestModel, admitModel) against the same bodies. docs/models.md quotes a run.
 *
 *   npm run build && node dist/bench/models-cost.js          # 15 rounds × 20k requests per variant
 *   MODELS_ROUNDS=21 MODELS_REQUESTS=50000 node dist/bench/models-cost.js
 */
import { compileConfig } from '../src/compiler/index.js'
import { buildSnapshot } from '../src/runtime/build/snapshot.js'
import { createStores } from '../src/runtime/stores.js'
import { dispatch } from '../src/runtime/http/dispatch.js'
import { requestModel } from '../src/runtime/models/registry.js'
import { admitModel } from '../src/runtime/models/admission.js'
import { redirectLog } from '../src/shared/log.js'
import type { Downstream, RequestContext, Snapshot } from '../src/runtime/types.js'

class NullDownstream implements Downstream {
  aborted = false
  onAbort(): void {}
  onWritable(): void {}
  write(): boolean {
    return true
  }
  end(): void {}
  writeHead(): void {}
  close(): void {}
  remoteAddress(): string { return '127.0.0.1' }
}

const ROUNDS = Number(process.env.MODELS_ROUNDS ?? 15)
const REQUESTS = Number(process.env.MODELS_REQUESTS ?? 20_000)

// The same provider id either way: `none` maps it with model_map, the others with provider_ids.
const BASE = `
listeners: [{ name: api, port: 8080, route_table: main }]
routes: [{ name: main, rules: [{ cluster: m }] }]
clusters: [{ name: m, provider: mock, mock: { reply: ok }, model_map: { gpt-4o: gpt-4o-2024-08-06 } }]
`
const OTHERS = Array.from({ length: 50 }, (_, i) => `  - { name: other-${i}, aliases: [o${i}], context_window: 1000 }`).join('\n')
const registry = (fields: string) => `${BASE}models:\n${OTHERS}\n  - name: gpt-4o\n    aliases: [g]\n${fields}`
const VARIANTS: Record<string, string> = {
  none: BASE,
  registered: registry(''),
  window: registry('    context_window: 128000\n    max_output_tokens: 16384\n'),
  'window+caps': registry('    context_window: 128000\n    max_output_tokens: 16384\n    capabilities: { vision: false }\n'),
}

function snapshotOf(text: string): Snapshot {
  const r = compileConfig([{ name: 'bench.yaml', text }], { source: 'bench', env: {} })
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n'))
  return buildSnapshot(r.ir, createStores())
}

const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'system', content: 'You are helpful. '.repeat(20) }, { role: 'user', content: 'Tell me about the weather in Paris today, please.' }] }))
const big = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'word '.repeat(40_000) }] }))

function cpuNsPer(n: number, f: () => void): number {
  const t0 = process.cpuUsage()
  for (let i = 0; i < n; i++) f()
  const d = process.cpuUsage(t0)
  return ((d.user + d.system) * 1000) / n
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

redirectLog(() => {})
const snaps = Object.fromEntries(Object.entries(VARIANTS).map(([k, t]) => [k, snapshotOf(t)]))
const request = (s: Snapshot) => () => dispatch(s, s.listeners.get(8080)!, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' }, body }, new NullDownstream())
for (const s of Object.values(snaps)) cpuNsPer(REQUESTS, request(s))
const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(snaps).map((k) => [k, []]))
for (let r = 0; r < ROUNDS; r++) for (const [k, s] of Object.entries(snaps)) rounds[k].push(cpuNsPer(REQUESTS, request(s)))
console.log(`dispatch() per request, CPU ns, median of ${ROUNDS} rounds × ${REQUESTS} (body ${body.length} B, 51 registered models):`)
for (const [k, xs] of Object.entries(rounds)) console.log(`  ${k.padEnd(12)} ${Math.round(median(xs))}  (min ${Math.round(Math.min(...xs))})`)

const step = (label: string, n: number, f: () => void) => {
  cpuNsPer(n, f)
  console.log(`  ${label.padEnd(58)} ${median([cpuNsPer(n, f), cpuNsPer(n, f), cpuNsPer(n, f)]).toFixed(1)}`)
}
console.log('the registry steps alone, CPU ns per call:')
const reg = snaps.window.models!
step('requestModel, an alias', 2_000_000, () => requestModel(reg, 'g'))
step('requestModel, an unregistered model', 2_000_000, () => requestModel(reg, 'nope'))
for (const [k, b] of [['registered', body], ['window', body], ['window+caps', body], ['window', big]] as const) {
  const s = snaps[k]
  const route = s.listeners.get(8080)!.table.routes[0]
  const ctx = { json: JSON.parse(b.toString()), body: b, head: { method: 'POST', path: '/v1/chat/completions', model: 'gpt-4o' }, protocol: 'openai' } as unknown as RequestContext
  step(`admitModel, ${k} (body ${b.length} B)`, b.length > 10_000 ? 2_000 : 500_000, () => admitModel(s.models!, ctx, route))
}
process.exit(0)
