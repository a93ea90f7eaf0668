/**
 * The commands an example's comments tell you to run work as written: each `switchyard validate`
 * or `explain` line (with the `NAME=value` assignments it shows) runs the real binary and succeeds;
 * a `switchyard run` line parses with run's flag table and names a config that validates.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadCommands } from '../../src/cli.js'
import { parseFlags } from '../../src/commands/flags.js'
import { repoRoot } from '../support/repo-root.js'
import { runShown, shownCommands } from '../support/docs/shown-commands.js'

const examplesDir = join(repoRoot, 'examples')
const shown = readdirSync(examplesDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .flatMap((f) => shownCommands(`examples/${f}`, readFileSync(join(examplesDir, f), 'utf8')))
const commands = await loadCommands()

test('the examples show how to check them', () => {
  assert.ok(shown.some((c) => c.args[0] === 'validate'), 'no example comment shows a `switchyard validate` command')
})

for (const c of shown) {
  const text = `${Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join('')}switchyard ${c.args.join(' ')}`
  test(`${c.file}:${c.line}: \`${text}\` works as shown`, () => {
    const sub = ['config', 'keys', 'rollout', 'endpoints', 'models'].includes(c.args[0]) ? c.args.slice(0, 2).join(' ') : c.args[0]
    const command = commands.find((x) => x.spec.name === sub)
    assert.ok(command, `${c.file}:${c.line}: no command '${sub}'`)
    if (sub === 'validate' || sub === 'explain') {
      const r = runShown(c.args, c.env)
      assert.equal(r.code, 0, `${c.file}:${c.line}: \`${text}\` exits ${r.code}:\n${r.output}`)
      return
    }
    // Commands that serve or talk to etcd are not run: their flags must parse, their config validate.
    const parsed = parseFlags(command.spec, c.args.slice(sub.split(' ').length))
    const config = (parsed.values as { config?: string }).config
    if (config !== undefined) {
      const r = runShown(['validate', config], c.env)
      assert.equal(r.code, 0, `${c.file}:${c.line}: the config of \`${text}\` does not validate:\n${r.output}`)
    }
  })
}
