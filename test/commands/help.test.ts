/** Every command's --help comes from its flag table, and the README shows exactly that help. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadCommands } from '../../src/cli.js'
import { renderOverview } from '../../src/commands/dispatch.js'
import { renderHelp } from '../../src/commands/flags.js'
import { repoRoot } from '../support/repo-root.js'
import { runCli } from '../support/run-cli.js'

const commands = await loadCommands()

test('the registered commands, in the order --help lists them', () => {
  assert.deepStrictEqual(commands.map((c) => c.spec.name), ['run', 'validate', 'explain', 'config push', 'config diff', 'config pull', 'config history', 'config rollback', 'keys create', 'keys list', 'keys revoke', 'experiments', 'rollout status', 'rollout pause', 'rollout resume', 'rollout abort', 'endpoints register', 'models list', 'models show'])
})

test('every flag of every command appears in its --help with a default or "required"', () => {
  for (const { spec } of commands) {
    const help = renderHelp(spec).replace(/\n {10,}/g, ' ') // continuation lines joined
    for (const f of spec.flags) {
      const line = help.split('\n').find((l) => new RegExp(`^ {2}(${'short' in f ? `-${f.short}, ` : ' {4}'})--${f.name}\\b`).test(l))
      assert.ok(line, `${spec.name}: --${f.name} not in\n${help}`)
      assert.match(line, /\((default: .+|required)\)$/, `${spec.name}: ${line}`)
    }
  }
})

test('flag names are unique within a command, short names too', () => {
  for (const { spec } of commands) {
    const names = spec.flags.map((f) => f.name)
    const shorts = spec.flags.flatMap((f) => ('short' in f && f.short ? [f.short] : []))
    assert.deepStrictEqual([...new Set(names)], names, spec.name)
    assert.deepStrictEqual([...new Set(shorts)], shorts, spec.name)
    assert.ok(!names.includes('help') && !shorts.includes('h'), spec.name)
  }
})

test('the binary prints the same help as the table renders', async () => {
  const r = await runCli(['explain', '--help'])
  assert.equal(r.stdout, `${renderHelp(commands.find((c) => c.spec.name === 'explain')!.spec)}\n`)
})

test("the README's command-line section shows every command's --help verbatim", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Command line\n')
  assert.ok(start >= 0, 'README has no "## Command line" section')
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const blocks = [...section.matchAll(/```\n([\s\S]*?)\n```/g)].map((m) => m[1])
  const expected = [renderOverview(), ...commands.map((c) => renderHelp(c.spec))]
  for (const help of expected) {
    assert.ok(blocks.includes(help), `README's command-line section lacks, as one code block:\n${help}`)
  }
})
