/**
 * switchyard run | validate | explain, and the entry point for every command. Each command's
 * flags are a table in commands/specs.ts; commands/dispatch.ts parses them and answers --help.
 */
import { availableParallelism } from 'node:os'
import { formatDiagnostic } from './compiler/index.js'
import { compilePathReporting, describeNeeds } from './commands/compile-path.js'
import { dispatch, registerCommand, registeredCommands, type Command } from './commands/dispatch.js'
import { UsageError, type Parsed } from './commands/flags.js'
import { EXPLAIN, RUN, VALIDATE } from './commands/specs.js'
import { buildSnapshot, releaseSnapshot } from './runtime/build/snapshot.js'
import { createStores } from './runtime/stores.js'
import { createFileSource } from './control/sources/file.js'
import type { RunOptions } from './control/supervisor.js'
import type { ConfigSource } from './control/sources/source.js'
import { log } from './shared/log.js'

registerCommand(RUN, run)
registerCommand(VALIDATE, validate)
registerCommand(EXPLAIN, explain)

/** Every command, including those registered by commands/index.ts (e.g. `config push`). */
export async function loadCommands(): Promise<readonly Command[]> {
  await import('./commands/index.js')
  return registeredCommands()
}

export async function main(argv: string[]): Promise<number> {
  await loadCommands()
  return dispatch(argv)
}

/** explain shows routing, not secrets: references are checked, not read (as in validate). */
function compilePath(path: string) {
  return compilePathReporting(path, '', 'collect')?.ir
}

function validate({ values }: Parsed<typeof VALIDATE>): number {
  const path = values.config!
  const resolve = values['resolve-secrets']
  const compiled = compilePathReporting(path, '', resolve ? 'resolve' : 'collect')
  if (!compiled) return 1
  const { ir, needs } = compiled
  for (const w of ir.warnings) console.error(`warning: ${w}`)
  const rules = ir.routeTables.reduce((n, t) => n + t.rules.length, 0)
  console.log(`${path}: ok (version ${ir.version}): ${ir.listeners.length} listeners, ${ir.routeTables.length} route tables (${rules} rules), ${ir.clusters.length} clusters, ${ir.filters.length} filters${describeNeeds(needs, resolve)}`)
  return 0
}

function explain({ values }: Parsed<typeof EXPLAIN>): number {
  const ir = compilePath(values.config!)
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
    const headers: Record<string, string> = {}
    for (const h of values.header) {
      const i = h.indexOf('=')
      if (i < 0) throw new UsageError(`--header wants name=value, got '${h}'`)
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1)
    }
    const head = { method: values.method.toUpperCase(), path: values.path, query: values.query, headers, model: values.model }
    console.log(`listener: ${listener.name} (${listener.address}:${listener.port}, ${listener.protocol})`)
    const route = listener.table.match(head)
    if (!route) {
      console.log(`route:    none → 404 (route table '${listener.table.name}', ${listener.table.routes.length} rules)`)
      return 0
    }
    console.log(`route:    ${listener.table.name} / ${route.name} (rule #${route.index})`)
    const a = route.action
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
      if (a.hashHeader && headers[a.hashHeader] !== undefined) console.log(`            this request (${a.hashHeader}=${headers[a.hashHeader]}) → ${a.pick(head).name}`)
    }
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

async function run({ values, given }: Parsed<typeof RUN>): Promise<number> {
  let source: ConfigSource | undefined
  // Config sources other than files (etcd's) come with the commands loaded from commands/index.ts.
  const { sourceFactories } = await import('./commands/index.js')
  for (const f of sourceFactories) source ??= f(values, given)
  if (!source && values.config !== undefined) source = createFileSource(values.config)
  if (!source) throw new UsageError('nothing to serve: give <file|dir> (or -c <file|dir>), or --etcd <url> --prefix <prefix>')
  const opts: RunOptions = {
    source,
    workers: values.workers ?? availableParallelism(),
    requireNative: values['require-native'],
    ...(values['admin-port'] !== undefined && { adminPort: values['admin-port'] }),
  }
  // Loaded here, not at the top: it loads uWebSockets.js, which --help and validate do without.
  const { runGateway, StartupError } = await import('./control/supervisor.js')
  let gw
  try {
    gw = await runGateway(opts)
  } catch (e) {
    if (e instanceof StartupError) {
      for (const d of e.diagnostics) console.error(formatDiagnostic(d))
      console.error(`switchyard: ${e.diagnostics.length ? `invalid configuration (${e.diagnostics.length} error${e.diagnostics.length === 1 ? '' : 's'})` : e.message}`)
      return 1
    }
    throw e
  }
  return new Promise<number>((resolve) => {
    const onSignal = (sig: string) => {
      log('info', `${sig} received`)
      gw.stop().then(() => resolve(0))
    }
    process.once('SIGTERM', () => onSignal('SIGTERM'))
    process.once('SIGINT', () => onSignal('SIGINT'))
  })
}
