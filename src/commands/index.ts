/**
 * Registers subcommands and config sources that live outside the core CLI (e.g. etcd).
 * Each module adds itself to `extraCommands` / `sourceFactories` from ../cli.js.
 */
import { extraCommands, sourceFactories } from '../cli.js'
import { configCommand } from './config.js'
import { etcdSourceFactory } from './run-etcd.js'

extraCommands.config = configCommand
sourceFactories.push(etcdSourceFactory)
