// `config push` reads the local config through the same compile as `validate`: a config with plugin filters
// is split into objects (their modules imported, their options checked), and a bad option stops the push.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { readDesired } from '../../src/commands/config.js'

const dir = mkdtempSync(join(tmpdir(), 'switchyard-push-plugins-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const examples = fileURLToPath(new URL('../../../examples/plugins/', import.meta.url))
mkdirSync(join(dir, 'plugins'))
copyFileSync(join(examples, 'keyword-guard.mjs'), join(dir, 'plugins', 'keyword-guard.mjs'))

function config(options: string): string {
  return `listeners:
  - { name: public, port: 18080, route_table: main, filters: [guard] }
filters:
  - { name: guard, type: plugin, config: { module: ./plugins/keyword-guard.mjs, options: ${options} } }
routes:
  - name: main
    rules:
      - { name: all, match: { path: { prefix: /v1/ } }, cluster: mock }
clusters:
  - { name: mock, provider: mock, models: [gpt-4o-mini] }
`
}

test('a config with a plugin filter is pushed as objects, the filter among them', async () => {
  const file = join(dir, 'ok.yaml')
  writeFileSync(file, config('{ words: [forbidden] }'))
  const desired = await readDesired(file)
  assert.ok(desired, 'the config compiles for the push')
  assert.ok([...desired.keys()].some((k) => k.includes('guard')), [...desired.keys()].join(', '))
})

test('an option the plugin schema refuses stops the push', async () => {
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, config('{ words: 7 }'))
  const errors: string[] = []
  const orig = console.error
  console.error = (...a: unknown[]) => void errors.push(a.join(' '))
  try {
    assert.equal(await readDesired(file), undefined)
  } finally {
    console.error = orig
  }
  assert.match(errors.join('\n'), /bad\.yaml:\d+:\d+/)
})
