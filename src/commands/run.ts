/**
 * `switchyard run <file|dir>` (or `--etcd <url> --prefix <p>`): serve until SIGTERM or SIGINT,
 * then drain. Exit code 1 when the config is invalid or the workers cannot serve it.
 */
import { availableParallelism } from 'node:os'
import { formatDiagnostic } from '../compiler/diagnostics.js'
import { createFileSource } from '../control/sources/file.js'
import type { ConfigSource } from '../control/sources/source.js'
import type { RunOptions } from '../control/supervisor.js'
import { log } from '../shared/log.js'
import { UsageError, type Parsed } from './flags.js'
import type { RUN } from './specs.js'

export async function run({ values, given }: Parsed<typeof RUN>): Promise<number> {
  let source: ConfigSource | undefined
  // Config sources other than files (etcd's) come with the commands loaded from commands/index.ts.
  const { sourceFactories } = await import('./index.js')
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
  const { Supervisor, StartupError } = await import('../control/supervisor.js')
  let gateway
  try {
    gateway = await Supervisor.start(opts)
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
      gateway.stop().then(() => resolve(0))
    }
    process.once('SIGTERM', () => onSignal('SIGTERM'))
    process.once('SIGINT', () => onSignal('SIGINT'))
  })
}
