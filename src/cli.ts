/**
 * The entry point for every command: registers the core ones (run, validate, explain; their
 * bodies live in commands/) and hands argv to commands/dispatch.ts, which parses each command's
 * flags from its table in commands/specs.ts and answers --help.
 */
import { dispatch, registerCommand, registeredCommands, type Command } from './commands/dispatch.js'
import { run } from './commands/run.js'
import { EXPLAIN, RUN, VALIDATE } from './commands/specs.js'
import type { Parsed } from './commands/flags.js'

registerCommand(RUN, run)
// Loaded when used: both build what a worker builds, and `run`'s main thread must not hold a copy of the runtime.
registerCommand(VALIDATE, async (p: Parsed<typeof VALIDATE>) => (await import('./commands/validate.js')).validate(p))
registerCommand(EXPLAIN, async (p: Parsed<typeof EXPLAIN>) => (await import('./commands/explain.js')).explain(p))

/** Every command, including those registered by commands/index.ts (e.g. `config push`). */
export async function loadCommands(): Promise<readonly Command[]> {
  await import('./commands/index.js')
  return registeredCommands()
}

export async function main(argv: string[]): Promise<number> {
  await loadCommands()
  return dispatch(argv)
}
