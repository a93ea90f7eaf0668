/**
 * Finds the command in argv, answers `--help` and `--version`, parses the command's flags from
 * its table and runs it. Every usage mistake, here or thrown by a command as UsageError, ends the
 * same way: one line on stderr, a pointer to `--help`, exit code 2.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { closest, parseFlags, renderHelp, table, UsageError, wantsHelp, type CommandSpec, type Parsed } from './flags.js'
import { GROUPS } from './specs.js'

export interface Command {
  readonly spec: CommandSpec
  run(parsed: Parsed<CommandSpec>): Promise<number> | number
}

const commands: Command[] = []

/** Adds a command; `switchyard --help` lists them in the order they were registered. */
export function registerCommand<S extends CommandSpec>(spec: S, run: (parsed: Parsed<S>) => Promise<number> | number): void {
  commands.push({ spec, run: run as Command['run'] })
}

export function registeredCommands(): readonly Command[] {
  return commands
}

export function version(): string {
  // dist/src/commands → the package root, wherever the package is installed.
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'switchyard' && pkg.version) return pkg.version
    } catch {}
    const up = dirname(dir)
    if (up === dir) return 'unknown'
    dir = up
  }
}

export function renderOverview(): string {
  return [
    'usage: switchyard <command> [flags]',
    'Switchyard, an LLM gateway: one OpenAI-compatible front door, declarative config, hot reload.',
    `commands:\n${table(commands.map((c) => [c.spec.name, c.spec.summary]))}`,
    `flags:\n${table([['-h, --help', "show this help; 'switchyard <command> --help' shows a command's flags"], ['-V, --version', 'print the version']])}`,
    'example:\n  switchyard run -c examples/quickstart.yaml',
  ].join('\n\n')
}

function renderGroup(group: string): string {
  const members = commands.filter((c) => c.spec.name.startsWith(`${group} `))
  return [
    `usage: switchyard ${group} <${members.map((c) => c.spec.name.slice(group.length + 1)).join('|')}> [flags]`,
    GROUPS[group],
    `commands:\n${table(members.map((c) => [c.spec.name, c.spec.summary]))}`,
    `run 'switchyard ${group} <command> --help' for a command's flags.`,
  ].join('\n\n')
}

function usageFailure(who: string, message: string, helpFor = who): number {
  console.error(`switchyard${who ? ` ${who}` : ''}: ${message}`)
  console.error(`run 'switchyard${helpFor ? ` ${helpFor}` : ''} --help' for usage`)
  return 2
}

export async function dispatch(argv: readonly string[]): Promise<number> {
  const [first, second] = argv
  if (first === undefined) {
    console.error(renderOverview())
    return 2
  }
  if (first === 'help') return argv.length > 1 ? dispatch([...argv.slice(1), '--help']) : dispatch(['--help'])
  if (first === '--help' || first === '-h') {
    console.log(renderOverview())
    return 0
  }
  if (first === '--version' || first === '-V') {
    console.log(`switchyard ${version()}`)
    return 0
  }
  if (first.startsWith('-')) {
    const guess = closest(first.replace(/^--?/, ''), ['help', 'version'])
    return usageFailure('', `unknown flag ${first}${guess ? ` (did you mean --${guess}?)` : ''}`)
  }

  const cmd = commands.find((c) => c.spec.name === `${first} ${second}`) ?? commands.find((c) => c.spec.name === first)
  if (!cmd) {
    if (first in GROUPS) {
      if (second === '--help' || second === '-h') {
        console.log(renderGroup(first))
        return 0
      }
      const subs = commands.filter((c) => c.spec.name.startsWith(`${first} `)).map((c) => c.spec.name.slice(first.length + 1))
      if (second === undefined) return usageFailure(first, `missing command: ${subs.slice(0, -1).join(', ')} or ${subs.at(-1)}`)
      const guess = closest(second, subs)
      return usageFailure(first, `unknown command '${second}'${guess ? ` (did you mean ${guess}?)` : ` (have: ${subs.join(', ')})`}`)
    }
    const names = [...new Set(commands.map((c) => c.spec.name.split(' ')[0]))]
    const guess = closest(first, names)
    return usageFailure('', `unknown command '${first}'${guess ? ` (did you mean ${guess}?)` : ` (have: ${names.join(', ')})`}`)
  }

  const rest = argv.slice(cmd.spec.name.split(' ').length)
  if (wantsHelp(rest)) {
    console.log(renderHelp(cmd.spec))
    return 0
  }
  try {
    return await cmd.run(parseFlags(cmd.spec, rest))
  } catch (e) {
    if (e instanceof UsageError) return usageFailure(cmd.spec.name, e.message)
    throw e
  }
}
