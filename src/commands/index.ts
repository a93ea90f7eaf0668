/**
 * Registers the commands and config sources that live outside the core CLI (etcd's).
 */
import { sourceFactories } from '../cli.js'
import { registerCommand } from './dispatch.js'
import { etcdTargetFrom } from './etcd-options.js'
import type { Parsed } from './flags.js'
import { etcdSourceFactory } from './run-etcd.js'
import { CONFIG_DIFF, CONFIG_PULL, CONFIG_PUSH } from './specs.js'

// Loaded on use: etcd3 brings gRPC, which every other command can do without.
const configCommand = (sub: 'push' | 'diff' | 'pull') => async ({ values, operand }: Parsed<typeof CONFIG_PUSH>) => {
  const target = etcdTargetFrom(values)
  return (await import('./config.js')).configCommand(sub, operand!, target)
}
registerCommand(CONFIG_PUSH, configCommand('push'))
registerCommand(CONFIG_DIFF, configCommand('diff'))
registerCommand(CONFIG_PULL, configCommand('pull'))
sourceFactories.push(etcdSourceFactory)
