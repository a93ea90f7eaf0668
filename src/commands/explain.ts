/**
 * `switchyard explain -c <file|dir> [--listener l] [--method m] [--path p] [--header n=v] [--model m]`:
 * which route a request would take, and where that route sends it. It builds the snapshot the
 * workers would build and asks its route table, so the answer is the gateway's own.
 */
import type { SnapshotIR } from '../compiler/ir.js'
import { requestModel } from '../runtime/models/registry.js'
import { buildSnapshot, releaseSnapshot } from '../runtime/build/snapshot.js'
import { createStores } from '../runtime/stores.js'
import type { CompiledAction, RequestHead } from '../runtime/types.js'
import { compilePathWithPlugins } from './compile-path.js'
import { UsageError, type Parsed } from './flags.js'
import type { EXPLAIN } from './specs.js'

export async function explain({ values }: Parsed<typeof EXPLAIN>): Promise<number> {
  // Routing, not secrets: references are checked, not read (as in validate).
  const ir = (await compilePathWithPlugins(values.config!, '', 'collect'))?.ir
  if (!ir) return 1
  const stores = createStores()
  const snap = buildSnapshot(ir, stores)
  try {
    const listeners = [...snap.listeners.values()]
    const listener = values.listener ? listeners.find((l) => l.name === values.listener) : listeners[0]
    if (!listener) {
      console.error(`no listener ${values.listener ? `'${values.listener}'` : 'configured'} (have: ${listeners.map((l) => l.name).join(', ')})`)
      return 1
    }
    const headers = headersFrom(values.header)
    // As dispatch does: an alias (or a deprecated model rewritten to its replacement) is routed as the registry's name.
    const model = snap.models === undefined ? values.model : requestModel(snap.models, values.model, false)
    const head = { method: values.method.toUpperCase(), path: values.path, query: values.query, headers, model }
    console.log(`listener: ${listener.name} (${listener.address}:${listener.port}, ${listener.protocol})`)
    if (model !== values.model) console.log(`model:    '${values.model}' is routed as '${model}' (model registry)`)
    const route = listener.table.match(head)
    if (!route) {
      console.log(`route:    none → 404 (route table '${listener.table.name}', ${listener.table.routes.length} rules)`)
      return 0
    }
    console.log(`route:    ${listener.table.name} / ${route.name} (rule #${route.index})`)
    const a = route.action
    printAction(ir, a, head)
    if (route.modelRewrite) console.log(`model:    rewritten to '${route.modelRewrite}'`)
    if (route.retry) console.log(`retries:  ${route.retry.numRetries} per cluster${route.retry.perTryTimeoutMs ? `, ${route.retry.perTryTimeoutMs}ms per try` : ''}`)
    const timeout = route.timeoutMs ?? (a.kind === 'cluster' ? a.cluster.timeoutMs : undefined)
    if (a.kind !== 'direct') console.log(`timeout:  ${timeout !== undefined ? `${timeout}ms` : 'per-cluster default'}${route.timeoutMs === undefined && timeout !== undefined ? ' (cluster default)' : ''}`)
    console.log(`filters:  ${route.chain.names.length ? route.chain.names.join(' → ') : '(none)'}`)
    return 0
  } finally {
    releaseSnapshot(snap, stores)
    void stores.pools.closeAll()
  }
}

/** `--header name=value` flags as a request's headers (names lower-cased, as uWS gives them). */
function headersFrom(flags: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const h of flags) {
    const i = h.indexOf('=')
    if (i < 0) throw new UsageError(`--header wants name=value, got '${h}'`)
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1)
  }
  return headers
}

function printAction(ir: SnapshotIR, a: CompiledAction, head: RequestHead): void {
  const describeCluster = (name: string) => {
    const c = ir.clusters.find((x) => x.name === name)!
    return `${name} [${c.provider}, lb ${c.lb}: ${c.endpoints.map((e) => `${e.url}${c.lb === 'weighted' ? ` (weight ${e.weight})` : ''}`).join(', ')}]`
  }
  if (a.kind === 'direct') console.log(`action:   direct_response ${a.reply.status} (${a.reply.body.length} bytes)`)
  else if (a.kind === 'cluster') console.log(`action:   cluster ${describeCluster(a.cluster.name)}`)
  else if (a.kind === 'fallback') {
    console.log('action:   fallback (in order)')
    a.clusters.forEach((c, i) => console.log(`            ${i + 1}. ${describeCluster(c.cluster.name)}${c.modelRewrite ? ` model → ${c.modelRewrite}` : ''}`))
  } else {
    const total = a.describe.reduce((s, c) => s + c.weight, 0)
    console.log(`action:   weighted_clusters${a.hashHeader ? ` (sticky on header ${a.hashHeader})` : ' (random)'}`)
    for (const c of a.describe) console.log(`            ${(100 * c.weight / total).toFixed(1).padStart(5)}%  ${describeCluster(c.name)}`)
    if (a.hashHeader && head.headers[a.hashHeader] !== undefined) console.log(`            this request (${a.hashHeader}=${head.headers[a.hashHeader]}) → ${a.pick(head).name}`)
  }
}
