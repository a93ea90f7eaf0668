/** The flag-table parser: values, defaults, checks and suggestions, as data. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { closest, editDistance, parseFlags, renderHelp, UsageError, type CommandSpec } from '../../src/commands/flags.js'

const SPEC = {
  name: 'demo',
  summary: 'a command to test the parser with',
  operand: { name: '<file>', description: 'input', flag: 'config' },
  flags: [
    { name: 'config', short: 'c', type: 'string', value: '<file>', description: 'input file' },
    { name: 'workers', short: 'w', type: 'integer', min: 1, max: 8, default: '2', description: 'threads' },
    { name: 'port', type: 'port', description: 'where to listen' },
    { name: 'timeout', type: 'duration', default: '5s', description: 'deadline' },
    { name: 'header', type: 'list', value: '<k=v>', description: 'repeatable' },
    { name: 'verbose', type: 'boolean', description: 'say more' },
    { name: 'mode', type: 'string', default: 'fast', description: 'how' },
  ],
  example: 'switchyard demo x --workers 3',
} as const satisfies CommandSpec

const REQUIRED = {
  name: 'req',
  summary: 'required things',
  operand: { name: '<dir>', description: 'output', required: true },
  flags: [{ name: 'url', type: 'string', required: true, description: 'where' }],
  example: 'switchyard req d --url u',
} as const satisfies CommandSpec

function usageError(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof UsageError) return e.message
    throw e
  }
  throw new Error('no UsageError')
}

test('defaults are parsed like given values; given flags are reported', () => {
  const p = parseFlags(SPEC, [])
  assert.deepStrictEqual(p.values, { workers: 2, timeout: 5000, header: [], verbose: false, mode: 'fast' })
  assert.deepStrictEqual([...p.given], [])
})

test('long, short, --name=value, repeated lists, booleans and the operand', () => {
  const p = parseFlags(SPEC, ['in.yaml', '-w', '3', '--port=0', '--timeout', '250ms', '--header', 'a=1', '--header=b=2', '--verbose', '--mode', 'slow'])
  assert.deepStrictEqual(p.values, { config: 'in.yaml', workers: 3, port: 0, timeout: 250, header: ['a=1', 'b=2'], verbose: true, mode: 'slow' })
  assert.equal(p.operand, 'in.yaml')
  assert.deepStrictEqual([...p.given].sort(), ['header', 'mode', 'port', 'timeout', 'verbose', 'workers'])
})

test('after --, everything is an operand', () => {
  assert.equal(parseFlags(SPEC, ['--', '--weird-name']).values.config, '--weird-name')
})

test('usage mistakes, each with its message', () => {
  const cases: [readonly string[], string][] = [
    [['--modee', 'x'], 'unknown flag --modee (did you mean --mode?)'],
    [['--wokers', '1'], 'unknown flag --wokers (did you mean --workers?)'],
    [['--WORKERS', '1'], 'unknown flag --WORKERS (did you mean --workers?)'],
    [['-mode', 'x'], 'unknown flag -mode (did you mean --mode?)'],
    [['--zzzzzz'], 'unknown flag --zzzzzz'],
    [['-x'], 'unknown flag -x'],
    [['--workers', 'abc'], "--workers wants an integer from 1 to 8, got 'abc'"],
    [['--workers', '9'], "--workers wants an integer from 1 to 8, got '9'"],
    [['--workers', '-1'], "--workers wants an integer from 1 to 8, got '-1'"],
    [['--workers', '1e3'], "--workers wants an integer from 1 to 8, got '1e3'"],
    [['--port', '65536'], "--port wants a port number from 0 to 65535, got '65536'"],
    [['--port', ' 80'], "--port wants a port number from 0 to 65535, got ' 80'"],
    [['--timeout', '5'], "--timeout wants a duration such as 500ms, 5s or 1m, got '5'"],
    [['--mode'], '--mode needs a value: --mode <value>'],
    [['--mode', '--verbose'], '--mode needs a value: --mode <value>'],
    [['--verbose=yes'], '--verbose takes no value'],
    [['--mode', 'a', '--mode', 'b'], '--mode is given twice'],
    [['a', 'b'], "unexpected argument 'b'"],
    [['a', '-c', 'b'], 'give <file> once: as the argument or as -c/--config, not both'],
  ]
  for (const [argv, message] of cases) assert.equal(usageError(() => parseFlags(SPEC, argv)), message, argv.join(' '))
})

test('a required operand and a required flag', () => {
  assert.equal(usageError(() => parseFlags(REQUIRED, [])), 'missing <dir>')
  assert.equal(usageError(() => parseFlags(REQUIRED, ['d'])), 'missing --url <value>')
  assert.deepStrictEqual(parseFlags(REQUIRED, ['d', '--url', 'u']).values, { url: 'u' })
})

test('a command without an operand takes no positional argument', () => {
  const spec = { name: 'x', summary: 's', flags: [], example: 'switchyard x' } as const satisfies CommandSpec
  assert.equal(usageError(() => parseFlags(spec, ['stray'])), "unexpected argument 'stray'")
})

test('edit distance counts a swap of neighbours as one edit', () => {
  assert.deepStrictEqual(
    [editDistance('modle', 'model'), editDistance('wokers', 'workers'), editDistance('', 'abc'), editDistance('kitten', 'sitting')],
    [1, 1, 3, 3],
  )
})

test('closest: a near typo, else a unique abbreviation, else nothing', () => {
  const names = ['config', 'workers', 'admin-port', 'require-native', 'etcd', 'etcd-timeout']
  assert.equal(closest('confg', names), 'config')
  assert.equal(closest('admin', names), 'admin-port')
  assert.equal(closest('require', names), 'require-native')
  assert.equal(closest('etcd-', names), 'etcd')
  assert.equal(closest('verbose', names), undefined)
})

test('--help shows every flag with its default, the operand and the example', () => {
  assert.equal(
    renderHelp(SPEC),
    [
      'usage: switchyard demo [<file>] [flags]',
      '',
      'argument:',
      '  <file>  input',
      '',
      'flags:',
      '  -c, --config <file>       input file (default: none)',
      '  -w, --workers <n>         threads (default: 2)',
      '      --port <port>         where to listen (default: none)',
      '      --timeout <duration>  deadline (default: 5s)',
      '      --header <k=v>        repeatable (default: none)',
      '      --verbose             say more (default: off)',
      '      --mode <value>        how (default: fast)',
      '  -h, --help                show this help',
      '',
      'example:',
      '  switchyard demo x --workers 3',
    ].join('\n'),
  )
  assert.match(renderHelp(REQUIRED), /^usage: switchyard req <dir> \[flags\]\n[\s\S]*--url <value> +where \(required\)$/m)
})
