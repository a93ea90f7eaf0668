/**
 * Issue 10, item 13: an alias without an anchor (`<<: *nope`) made `validate` print a raw stack
 * trace (the yaml library throws from toJS), and hot reload reported it at `:1:1`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, eventually, startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const ALIAS_LINE = 5
const ALIAS_COL = 9
const broken = (admin: number, port: number) => `admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: m }] }]
clusters:
  - <<: *nope
    name: m
    provider: mock
`

test('validate reports an unresolved alias at the alias, without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-yaml-'))
  const file = join(dir, 'alias.yaml')
  writeFileSync(file, broken(9901, 8080))
  const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' })
  assert.equal(r.status, 1)
  const out = r.stdout + r.stderr
  assert.ok(out.includes(`${file}:${ALIAS_LINE}:${ALIAS_COL}: unresolved alias *nope`), out)
  assert.doesNotMatch(out, /ReferenceError|\n\s+at /)
})

test('validate reports aliases that expand without bound (billion laughs) as a located error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-yaml-'))
  const file = join(dir, 'laughs.yaml')
  const row = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(of).join(', ')}]\n`
  writeFileSync(file, row('a', '"lol"') + row('b', '*a') + row('c', '*b') + row('d', '*c'))
  const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' })
  assert.equal(r.status, 1)
  const out = r.stdout + r.stderr
  assert.ok(out.includes(`${file}:2:8: aliases expand too often`), out)
  assert.doesNotMatch(out, /ReferenceError|\n\s+at /)
})

test('hot reload reports an unresolved alias at its line:col and keeps serving', async (t) => {
  const port = await freePort()
  const good = (admin: number) => broken(admin, port).replace('  - <<: *nope\n    name: m', '  - name: m')
  const gw = await startGateway(good)
  t.after(async () => { await gw.stop() })
  const config = async () => (await fetch(`${gw.admin}/config`)).json() as Promise<{ version: string; last_error: string[] | null }>
  const before = await config()
  gw.writeConfig(broken(gw.adminPort, port))
  await eventually(async () => (await config()).last_error !== null, undefined, 'the broken config to be reported')
  const after = await config()
  assert.equal(after.version, before.version)
  assert.deepStrictEqual(after.last_error, [`${gw.configPath}:${ALIAS_LINE}:${ALIAS_COL}: unresolved alias *nope: no anchor &nope is defined before it`])
})
