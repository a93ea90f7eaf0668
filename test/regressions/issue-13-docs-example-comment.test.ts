/**
 * Issue 13: examples/resilient-fleet.yaml's comment told the reader to run
 * `switchyard validate -c examples/resilient-fleet.yaml`, which fails as written (its three
 * `${env:…}` keys are unset) and is not the form `validate --help` shows. The comment now shows a
 * command that works when pasted.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../support/repo-root.js'
import { runShown, shownCommands } from '../support/docs/shown-commands.js'

const file = 'examples/resilient-fleet.yaml'
const commands = shownCommands(file, readFileSync(join(repoRoot, file), 'utf8'))

test("resilient-fleet.yaml's comment shows a validate command in the form validate --help gives", () => {
  const validate = commands.filter((c) => c.args[0] === 'validate')
  assert.equal(validate.length, 1, JSON.stringify(commands))
  assert.deepStrictEqual(validate[0].args, ['validate', file])
})

test('the command works as written, with the keys it sets and nothing from the machine', () => {
  const [c] = commands.filter((x) => x.args[0] === 'validate')
  const r = runShown(c.args, c.env)
  assert.equal(r.code, 0, r.output)
  assert.match(r.output, /^examples\/resilient-fleet\.yaml: ok /)
})
