/**
 * Registers subcommands and config sources that live outside the core CLI (e.g. etcd).
 * Each module adds itself to `extraCommands` / `sourceFactories` from ../cli.js.
 */
import { extraCommands, sourceFactories } from '../cli.js'
import { etcdSourceFactory } from './run-etcd.js'

// Loaded on use: etcd3 brings gRPC, which every other command can do without.
extraCommands.config = async (argv) => (await import('./config.js')).configCommand(argv)
sourceFactories.push(etcdSourceFactory)
