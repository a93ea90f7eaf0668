/**
 * Registers subcommands and config sources that live outside the core CLI (e.g. etcd).
 * Each module adds itself to `extraCommands` / `sourceFactories` from ../cli.js.
 */
export {}
