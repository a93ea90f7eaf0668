/**
 * The commands and config sources that live outside the core CLI (etcd's): the commands are
 * registered when cli.ts loads this module; `run` asks `sourceFactories` for a source.
 */
import type { ConfigSource } from '../control/sources/source.js'
import { registerCommand } from './dispatch.js'
import { etcdTargetFrom } from './etcd-options.js'
import type { Parsed } from './flags.js'
import { etcdSourceFactory } from './run-etcd.js'
import { CONFIG_DIFF, CONFIG_PULL, CONFIG_PUSH, type RunValues } from './specs.js'

/** A config source other than files, when `run`'s flags ask for one (else undefined). */
export type SourceFactory = (values: RunValues, given: ReadonlySet<string>) => ConfigSource | undefined

export const sourceFactories: readonly SourceFactory[] = [etcdSourceFactory]

// Loaded on use: etcd3 brings gRPC, which every other command can do without.
const configCommand = (sub: 'push' | 'diff' | 'pull') => async ({ values, operand }: Parsed<typeof CONFIG_PUSH>) => {
  const target = etcdTargetFrom(values)
  return (await import('./config.js')).configCommand(sub, operand!, target)
}
registerCommand(CONFIG_PUSH, configCommand('push'))
registerCommand(CONFIG_DIFF, configCommand('diff'))
registerCommand(CONFIG_PULL, configCommand('pull'))
