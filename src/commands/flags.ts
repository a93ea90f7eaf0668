/**
 * The command line's one parser. Each command declares a flag table (name, type, default,
 * description); parsing, value checks, the "did you mean" suggestion and `--help` all come from
 * that table, so they cannot disagree.
 *
 * @example
 * const SPEC = { name: 'validate', summary: '…', example: 'switchyard validate x.yaml',
 *   operand: { name: '<file|dir>', description: '…', required: true, flag: 'config' },
 *   flags: [{ name: 'config', short: 'c', type: 'string', value: '<file|dir>', description: '…' }],
 * } as const satisfies CommandSpec
 * const { values } = parseFlags(SPEC, ['x.yaml'])   // values.config === 'x.yaml'
 */
import { durationMs } from '../shared/units.js'

/** `list` is a repeatable string flag; `duration` (`500ms`, `5s`) parses to milliseconds. */
export type FlagType = 'string' | 'list' | 'boolean' | 'integer' | 'port' | 'duration'

export interface Flag {
  /** Long name, without the dashes. */
  readonly name: string
  readonly short?: string
  readonly type: FlagType
  /** Placeholder for the value in `--help`, e.g. `<file|dir>`. */
  readonly value?: string
  /** As typed on the command line; parsed and checked like a given value. */
  readonly default?: string
  /** Shown as the default when the command computes it (e.g. the number of CPU cores). */
  readonly defaultText?: string
  /** Bounds of an `integer`. */
  readonly min?: number
  readonly max?: number
  /** The command cannot run without it. */
  readonly required?: boolean
  readonly description: string
}

/** The one positional argument a command may take. */
export interface Operand {
  readonly name: string
  readonly description: string
  readonly required?: boolean
  /** The operand is another way to give this flag (`validate x.yaml` = `validate -c x.yaml`). */
  readonly flag?: string
}

export interface CommandSpec {
  /** `run`, or `config push` for a command of a group. */
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** What `--help` says about the command, above its flags. */
  readonly description?: string
  readonly operand?: Operand
  readonly flags: readonly Flag[]
  readonly example: string
}

type Scalar<F extends Flag> = F['type'] extends 'string' ? string : number
type ValueOf<F extends Flag> = F['type'] extends 'boolean'
  ? boolean
  : F['type'] extends 'list'
    ? string[]
    : F extends { readonly default: string } | { readonly required: true }
      ? Scalar<F>
      : Scalar<F> | undefined

export type FlagValues<S extends CommandSpec> = { readonly [F in S['flags'][number] as F['name']]: ValueOf<F> }

export interface Parsed<S extends CommandSpec> {
  readonly values: FlagValues<S>
  /** The positional argument, also copied into its flag when the operand has one. */
  readonly operand: string | undefined
  /** Flags given on the command line (not filled from a default). */
  readonly given: ReadonlySet<string>
}

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {}

export const HELP_FLAG: Flag = { name: 'help', short: 'h', type: 'boolean', description: 'show this help' }

/** True when the arguments ask for help (`-h`/`--help` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false
    if (a === '--help' || a === '-h') return true
  }
  return false
}

const looksLikeFlag = (a: string) => /^--?[A-Za-z]/.test(a)

export function parseFlags<S extends CommandSpec>(spec: S, argv: readonly string[]): Parsed<S> {
  const byLong = new Map<string, Flag>(spec.flags.map((f) => [f.name, f]))
  const byShort = new Map<string, Flag>(spec.flags.filter((f) => f.short).map((f) => [f.short!, f]))
  const raw = new Map<string, string[] | true>()
  const operands: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      operands.push(...argv.slice(i + 1))
      break
    }
    if (!looksLikeFlag(arg)) {
      operands.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const written = eq < 0 ? arg : arg.slice(0, eq)
    const inline = eq < 0 ? undefined : arg.slice(eq + 1)
    const flag = written.startsWith('--') ? byLong.get(written.slice(2)) : byShort.get(written.slice(1))
    if (!flag) throw new UsageError(unknownFlagMessage(written, spec.flags))
    const shown = `--${flag.name}`
    if (flag.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value`)
      raw.set(flag.name, true)
      continue
    }
    let value = inline
    if (value === undefined) {
      value = argv[i + 1]
      if (value === undefined || looksLikeFlag(value)) throw new UsageError(`${shown} needs a value: ${shown} ${flag.value ?? placeholder(flag)}`)
      i++
    }
    const seen = raw.get(flag.name)
    if (seen && flag.type !== 'list') throw new UsageError(`${shown} is given twice`)
    raw.set(flag.name, [...((seen as string[] | undefined) ?? []), value])
  }

  const values: Record<string, unknown> = {}
  for (const f of spec.flags) {
    const given = raw.get(f.name)
    if (f.type === 'boolean') values[f.name] = given === true
    else if (f.type === 'list') values[f.name] = given ?? []
    else if (given) values[f.name] = convert(f, (given as string[])[0])
    else if (f.default !== undefined) values[f.name] = convert(f, f.default)
  }

  const op = spec.operand
  if (operands.length > (op ? 1 : 0)) throw new UsageError(`unexpected argument '${operands[op ? 1 : 0]}'`)
  const operand = operands[0]
  if (op?.flag !== undefined) {
    const alias = byLong.get(op.flag)!
    if (operand !== undefined && raw.has(op.flag)) throw new UsageError(`give ${op.name} once: as the argument or as ${flagLabel(alias)}, not both`)
    if (operand !== undefined) values[op.flag] = operand
    if (op.required && values[op.flag] === undefined) throw new UsageError(`missing ${op.name} (or ${flagLabel(alias)} ${alias.value ?? op.name})`)
  } else if (op?.required && operand === undefined) throw new UsageError(`missing ${op.name}`)
  for (const f of spec.flags) {
    if (f.required && values[f.name] === undefined) throw new UsageError(`missing ${flagLabel(f)} ${f.value ?? placeholder(f)}`)
  }

  return { values: values as FlagValues<S>, operand, given: new Set(raw.keys()) }
}

const flagLabel = (f: Flag) => (f.short ? `-${f.short}/--${f.name}` : `--${f.name}`)

function convert(f: Flag, text: string): string | number {
  switch (f.type) {
    case 'integer': {
      const min = f.min ?? 0
      const max = f.max ?? Number.MAX_SAFE_INTEGER
      const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
      if (!(n >= min && n <= max)) throw new UsageError(`--${f.name} wants an integer from ${min} to ${max}, got '${text}'`)
      return n
    }
    case 'port': {
      const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
      if (!(n >= 0 && n <= 65535)) throw new UsageError(`--${f.name} wants a port number from 0 to 65535, got '${text}'`)
      return n
    }
    case 'duration':
      try {
        return durationMs(text)
      } catch {
        throw new UsageError(`--${f.name} wants a duration such as 500ms, 5s or 1m, got '${text}'`)
      }
    default:
      return text
  }
}

function unknownFlagMessage(written: string, flags: readonly Flag[]): string {
  const names = [...flags.map((f) => f.name), HELP_FLAG.name]
  const guess = closest(written.replace(/^--?/, ''), names)
  return `unknown flag ${written}${guess ? ` (did you mean --${guess}?)` : ''}`
}

/**
 * The candidate nearest to `word` by edit distance (a swap of two neighbours counts as one edit),
 * if it is near enough to be a typo; otherwise the one candidate `word` abbreviates, if any.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  const limit = w.length <= 3 ? 1 : w.length <= 6 ? 2 : 3
  let best: string | undefined
  let bestD = limit + 1
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestD) (best = c), (bestD = d)
  }
  if (best !== undefined) return best
  const prefixed = w.length >= 3 ? candidates.filter((c) => c.startsWith(w)) : []
  return prefixed.length === 1 ? prefixed[0] : undefined
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

const WIDTH = 100

/** `--help` of one command: usage, description, the operand, every flag with its default, an example. */
export function renderHelp(spec: CommandSpec): string {
  const op = spec.operand
  const usage = `usage: switchyard ${spec.name}${op ? ` ${op.required ? op.name : `[${op.name}]`}` : ''} [flags]`
  const rows = [...spec.flags, HELP_FLAG].map((f) => [
    `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'boolean' ? '' : ` ${f.value ?? placeholder(f)}`}`,
    `${f.description}${f === HELP_FLAG ? '' : ` (${f.required ? 'required' : `default: ${defaultOf(f)}`})`}`,
  ])
  const parts = [usage]
  if (spec.description) parts.push(...spec.description.split('\n\n').map((p) => wrap(p, 0)))
  if (op) parts.push(`argument:\n${table([[op.name, op.description]])}`)
  parts.push(`flags:\n${table(rows)}`, `example:\n  ${spec.example}`)
  return parts.join('\n\n')
}

function placeholder(f: Flag): string {
  return { string: '<value>', list: '<value>', boolean: '', integer: '<n>', port: '<port>', duration: '<duration>' }[f.type]
}

function defaultOf(f: Flag): string {
  if (f.defaultText !== undefined) return f.defaultText
  if (f.type === 'boolean') return 'off'
  if (f.default === undefined || f.default === '') return 'none'
  return f.default
}

/** Two columns, the right one wrapped under itself. */
export function table(rows: readonly (readonly string[])[]): string {
  const left = Math.min(32, Math.max(...rows.map((r) => r[0].length)))
  return rows
    .map(([l, r]) => {
      const indent = 2 + left + 2
      const head = `  ${l.padEnd(left)}  `
      const body = wrap(r, indent).slice(indent)
      return head.length > indent ? `  ${l}\n${' '.repeat(indent)}${body}` : head + body
    })
    .join('\n')
}

/** Word-wraps `text` to WIDTH columns, every line indented by `indent` spaces. */
function wrap(text: string, indent: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && indent + line.length + 1 + word.length > WIDTH) (lines.push(line), (line = word))
    else line = line ? `${line} ${word}` : word
  }
  lines.push(line)
  return lines.map((l) => ' '.repeat(indent) + l).join('\n')
}
