/**
 * Issue 13, CLI: every command answers --help (usage, every flag with its default, an example),
 * no arguments and a misspelled flag with a clean one-line error naming the closest flag and exit
 * code 2 — never a stack trace; numeric and port flags are checked; run is strict; --version.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../support/repo-root.js'
import { assertNoTrace, runCli, type CliResult } from '../support/run-cli.js'

/** Every command, with one of its flags to misspell (test/commands checks this list against the registry). */
const COMMANDS = [
  { name: 'run', flag: 'workers' },
  { name: 'validate', flag: 'config' },
  { name: 'explain', flag: 'model' },
  { name: 'config push', flag: 'prefix' },
  { name: 'config diff', flag: 'prefix' },
  { name: 'config pull', flag: 'prefix' },
]
const QUICKSTART = join(repoRoot, 'examples', 'quickstart.yaml')

/** The two lines of every usage error. */
function assertUsageError(r: CliResult, cmd: string, message: string | RegExp): void {
  assertNoTrace(r.stderr)
  assert.equal(r.code, 2, r.stderr)
  assert.equal(r.stdout, '')
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 2, r.stderr)
  const prefix = `switchyard${cmd ? ` ${cmd}` : ''}: `
  assert.ok(lines[0].startsWith(prefix), r.stderr)
  if (typeof message === 'string') assert.equal(lines[0], prefix + message)
  else assert.match(lines[0].slice(prefix.length), message)
  assert.equal(lines[1], `run 'switchyard${cmd ? ` ${cmd}` : ''} --help' for usage`)
}

for (const { name, flag } of COMMANDS) {
  test(`switchyard ${name} --help prints usage, every flag with its default, and an example`, async () => {
    const r = await runCli([...name.split(' '), '--help'])
    assertNoTrace(r.stdout + r.stderr)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
    assert.ok(r.stdout.startsWith(`usage: switchyard ${name} `), r.stdout)
    const flags = /\nflags:\n([\s\S]*?)\n\n/.exec(r.stdout)?.[1]
    assert.ok(flags, r.stdout)
    // One entry per flag, from its name to the next one; each says its default or that it is required.
    const entries = flags.split(/\n(?= {2}(?:-\w, | {4})--)/)
    assert.ok(entries.some((e) => e.includes(`--${flag}`)), flags)
    for (const e of entries.filter((x) => !x.includes('--help'))) assert.match(e.replace(/\s+/g, ' '), /\((default: [^)]+|required)\)$/, e)
    assert.match(r.stdout, /\nexample:\n {2}switchyard /)
  })

  test(`switchyard ${name} with no arguments is a one-line usage error`, async () => {
    assertUsageError(await runCli(name.split(' ')), name, /^(missing|nothing to serve)/)
  })

  test(`switchyard ${name} with a misspelled flag names the closest one`, async () => {
    const typo = flag.slice(0, -2) + flag.at(-1) + flag.at(-2) // last two letters swapped
    const r = await runCli([...name.split(' '), QUICKSTART, `--${typo}`, '1'])
    assertUsageError(r, name, `unknown flag --${typo} (did you mean --${flag}?)`)
  })
}

test('switchyard --help lists every command; --version prints the package version', async () => {
  const help = await runCli(['--help'])
  assert.equal(help.code, 0)
  for (const { name } of COMMANDS) assert.match(help.stdout, new RegExp(`^ {2}${name} +\\S`, 'm'))
  const v = await runCli(['--version'])
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  assert.deepStrictEqual({ code: v.code, stdout: v.stdout }, { code: 0, stdout: `switchyard ${pkg.version}\n` })
})

test('switchyard with no command prints the overview on stderr and exits 2', async () => {
  const r = await runCli([])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /^usage: switchyard <command>/)
})

test('a misspelled command or config subcommand names the closest one', async () => {
  assertUsageError(await runCli(['valdiate', QUICKSTART]), '', "unknown command 'valdiate' (did you mean validate?)")
  assertUsageError(await runCli(['config', 'psuh']), 'config', "unknown command 'psuh' (did you mean push?)")
  assertUsageError(await runCli(['config']), 'config', 'missing command: push, diff, pull, history or rollback')
})

test('explain -c x.yaml --modle m names --model', async () => {
  assertUsageError(await runCli(['explain', '-c', 'x.yaml', '--modle', 'm']), 'explain', 'unknown flag --modle (did you mean --model?)')
})

test('explain takes the config as its argument too', async () => {
  const r = await runCli(['explain', 'examples/quickstart.yaml', '--model', 'gpt-4o-mini'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^route: +main \/ chat-ab/m)
})

test('run is strict: --wokers is an error naming --workers, and nothing starts', async () => {
  const r = await runCli(['run', '-c', QUICKSTART, '--wokers', '1'], { timeoutMs: 5000 })
  assertUsageError(r, 'run', 'unknown flag --wokers (did you mean --workers?)')
})

test('numeric, port and duration flags are checked before anything starts', async () => {
  const cases: [string[], string][] = [
    [['--admin-port', 'abc'], "--admin-port wants a port number from 0 to 65535, got 'abc'"],
    [['--admin-port', '70000'], "--admin-port wants a port number from 0 to 65535, got '70000'"],
    [['--workers', 'two'], "--workers wants an integer from 1 to 256, got 'two'"],
    [['--workers', '1.5'], "--workers wants an integer from 1 to 256, got '1.5'"],
    [['--workers', '0'], "--workers wants an integer from 1 to 256, got '0'"],
    [['--workers'], '--workers needs a value: --workers <n>'],
    [['--etcd', 'http://127.0.0.1:1', '--prefix', '/p/', '--etcd-timeout', 'soon'], "--etcd-timeout wants a duration such as 500ms, 5s or 1m, got 'soon'"],
  ]
  for (const [flags, message] of cases) {
    assertUsageError(await runCli(['run', '-c', QUICKSTART, ...flags], { timeoutMs: 5000 }), 'run', message)
  }
})

test('etcd flags without --etcd, and a config with --etcd, are errors for run', async () => {
  assertUsageError(await runCli(['run', QUICKSTART, '--etcd-fallback', 'x']), 'run', '--etcd-fallback only applies with --etcd <url> --prefix <prefix>')
  assertUsageError(await runCli(['run', QUICKSTART, '--etcd', 'http://127.0.0.1:1', '--prefix', '/p/']), 'run', /^a config file and --etcd exclude each other/)
})
