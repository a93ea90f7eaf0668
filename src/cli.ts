/**
 * switchyard run | validate | explain
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { formatDiagnostic } from './compiler/index.js'
import { compilePathReporting } from './commands/compile-path.js'
import { buildSnapshot, releaseSnapshot } from './compiler/snapshot.js'
import { createStores } from './runtime/stores.js'
import { createFileSource } from './runtime/sources/file.js'
import { runGateway, StartupError } from './runtime/supervisor.js'
import type { ConfigSource } from './runtime/sources/source.js'
import { log } from './runtime/log.js'

const USAGE = `usage:
  switchyard run -c <file|dir> [--workers N] [--admin-port P]
  switchyard run --etcd <url> --prefix <p> [--etcd-fallback <file|dir>] [--workers N]
  switchyard config push|diff <file|dir> --etcd <url> --prefix <p>
  switchyard config pull <dir> --etcd <url> --prefix <p>
  switchyard validate <file|dir>
  switchyard explain -c <file|dir> --path /v1/chat/completions [--method POST] [--header k=v]... [--model m] [--query a=b] [--listener name]`

export type ExtraCommand = (argv: string[]) => Promise<number>
/** Subcommands contributed by other modules (e.g. `config` for etcd) register here. */
export const extraCommands: Record<string, ExtraCommand> = {}
/** Config sources other than files (e.g. etcd) plug into `run` through this hook. */
export const sourceFactories: ((values: Record<string, unknown>, args: readonly string[]) => ConfigSource | undefined)[] = []

export async function main(argv: string[]): Promise<number> {
  await import('./commands/index.js')
  const [cmd, ...rest] = argv
  switch (cmd) {
    case 'validate': return validate(rest)
    case 'explain': return explain(rest)
    case 'run': return run(rest)
    case undefined: case '-h': case '--help': case 'help':
      console.log(USAGE)
      return cmd === undefined ? 2 : 0
    default:
      if (extraCommands[cmd]) return extraCommands[cmd](rest)
      console.error(`unknown command '${cmd}'\n${USAGE}`)
      return 2
  }
}

function compilePath(path: string) {
  return compilePathReporting(path)?.ir
}

function validate(args: string[]): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' } } })
  const path = positionals[0] ?? values.config
  if (!path) {
    console.error(USAGE)
    return 2
  }
  const ir = compilePath(path)
  if (!ir) return 1
  const rules = ir.routeTables.reduce((n, t) => n + t.rules.length, 0)
  console.log(`${path}: ok (version ${ir.version}): ${ir.listeners.length} listeners, ${ir.routeTables.length} route tables (${rules} rules), ${ir.clusters.length} clusters, ${ir.filters.length} filters`)
  return 0
}

function explain(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      method: { type: 'string', default: 'POST' },
      path: { type: 'string', default: '/v1/chat/completions' },
      header: { type: 'string', multiple: true, default: [] },
      query: { type: 'string', default: '' },
      model: { type: 'string' },
      listener: { type: 'string' },
    },
  })
  if (!values.config) {
    console.error(USAGE)
    return 2
  }
  const ir = compilePath(values.config)
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
      if (i < 0) { console.error(`--header wants k=v, got '${h}'`); return 2 }
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
      const c = snap.clusters.get(name)!
      return `${name} [${c.ir.provider}, lb ${c.ir.lb}: ${c.endpoints.map((e) => `${e.url}${c.ir.lb === 'weighted' ? ` (weight ${e.weight})` : ''}`).join(', ')}]`
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

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: false,
    options: {
      config: { type: 'string', short: 'c' },
      workers: { type: 'string', short: 'w' },
      'admin-port': { type: 'string' },
    },
  })
  let source: ConfigSource | undefined
  for (const f of sourceFactories) source ??= f(values, args)
  if (!source && typeof values.config === 'string') source = createFileSource(values.config)
  if (!source) {
    console.error(USAGE)
    return 2
  }
  const workers = values.workers !== undefined ? Number(values.workers) : availableParallelism()
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`--workers must be a positive integer, got '${values.workers}'`)
    return 2
  }
  let gw
  try {
    gw = await runGateway({ source, workers, ...(values['admin-port'] !== undefined && { adminPort: Number(values['admin-port']) }) })
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
