/**
 * Secret references in the two compile modes: `resolve` reads them, `collect` checks and lists
 * them (CompileResult.needs) without reading any environment variable or file.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileConfig, type SecretMode } from '../../src/compiler/index.js'
import { referenceProblem } from '../../src/compiler/references.js'

const dir = mkdtempSync(join(tmpdir(), 'switchyard-refs-'))
writeFileSync(join(dir, 'key.txt'), 'sk-from-file-1\n')

const config = (url: string, apiKey: string) => `
listeners: [{ name: l, port: 18080, route_table: t, filters: [h] }]
routes: [{ name: t, rules: [{ cluster: c }] }]
clusters:
  - name: c
    provider: openai
    endpoints:
      - { url: "${url}", api_key: "${apiKey}" }
      - { url: "http://127.0.0.1:9/v1", api_key: "\${env:B_KEY}" }
filters:
  - name: h
    type: headers
    config: { request: { set: [{ name: x-key, value: "\${env:A_KEY}-\${file:key.txt}" }, { name: x-note, value: "$HOME" }] } }
`
const compile = (text: string, secrets: SecretMode, env: Record<string, string> = {}) =>
  compileConfig([{ name: 'c.yaml', text, baseDir: dir }], { source: 'test', env, secrets })

test('collect lists every referenced variable and file, sorted and once each, and reads none of them', () => {
  const env = { A_KEY: 'sk-env-a', B_KEY: 'sk-env-b', PORT: '9' }
  const r = compile(config('http://127.0.0.1:${env:PORT}/v1', '${env:B_KEY}'), 'collect', env)
  assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
  assert.deepStrictEqual(r.needs, { env: ['A_KEY', 'B_KEY', 'PORT'], files: [join(dir, 'key.txt')] })
  const ir = JSON.stringify(r.ir)
  for (const v of [...Object.values(env).slice(0, 2), 'sk-from-file-1']) assert.ok(!ir.includes(v), `collect read ${v}`)
})

test('collect passes with nothing set and no file present', () => {
  const r = compile(config('http://127.0.0.1:${env:PORT}/v1', '${file:missing.key}'), 'collect')
  assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
  assert.deepStrictEqual(r.needs.files, [join(dir, 'key.txt'), join(dir, 'missing.key')].sort())
})

test('resolve reads them, lists the same needs, and fails on the missing ones', () => {
  const text = config('http://127.0.0.1:${env:PORT}/v1', '${env:B_KEY}')
  const ok = compile(text, 'resolve', { A_KEY: 'sk-env-a', B_KEY: 'sk-env-b', PORT: '9' })
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.diagnostics))
  assert.deepStrictEqual(ok.needs, { env: ['A_KEY', 'B_KEY', 'PORT'], files: [join(dir, 'key.txt')] })
  assert.equal(ok.ir.clusters[0].endpoints[0].apiKey, 'sk-env-b')
  assert.deepStrictEqual((ok.ir.filters[0].config as any).request.set[0].value, 'sk-env-a-sk-from-file-1')
  const missing = compile(text, 'resolve', { A_KEY: 'sk-env-a' })
  assert.deepStrictEqual(!missing.ok && missing.diagnostics.map((d) => [d.code, d.path, d.message]), [
    ['SY_CFG_SECRET', 'clusters[0].endpoints[0].url', '${env:PORT} is not set'],
    ['SY_CFG_SECRET', 'clusters[0].endpoints[1].api_key', '${env:B_KEY} is not set'],
  ])
})

test('collect still rejects a URL that is invalid whatever the references hold', () => {
  const r = compile(config('http://127.0.0.1:notaport/v1', '${env:B_KEY}'), 'collect')
  assert.deepStrictEqual(!r.ok && r.diagnostics.map((d) => [d.code, d.path]), [['SY_CFG_BAD_URL', 'clusters[0].endpoints[0].url']])
})

test('resolve is the default mode', () => {
  const r = compileConfig([{ name: 'c.yaml', text: config('http://127.0.0.1:9/v1', '${env:B_KEY}'), baseDir: dir }], { source: 'test', env: {} })
  assert.equal(r.ok, false)
})

const RESOLVING = { resolves: true, credential: false }
const CREDENTIAL = { resolves: true, credential: true }
const LITERAL = { resolves: false, credential: false }

test('referenceProblem: bare $NAME, $(NAME) and %NAME% only in credential slots; ${…} shapes everywhere', () => {
  const cases: [string, typeof RESOLVING, boolean][] = [
    ['$OPENAI_API_KEY', CREDENTIAL, true],
    ['$OPENAI_API_KEY', RESOLVING, false],
    ['%APPDATA%', RESOLVING, false],
    ['$(TOKEN)', CREDENTIAL, true],
    ['costs $5', CREDENTIAL, false],
    ['^\\$', LITERAL, false],
    ['${NAME}', RESOLVING, true],
    ['${NAME}', LITERAL, true],
    ['${env:NAME}', RESOLVING, false],
    ['${env:NAME}', LITERAL, true],
    ['${file:a/b.key}', RESOLVING, false],
    ['${ not a name }', LITERAL, false],
    ['os.environ/KEY', LITERAL, true],
    ['x-${env:A}-${file:b}', RESOLVING, false],
    ['x-${env:A}-${NOPE}', RESOLVING, true],
  ]
  for (const [text, slot, flagged] of cases) assert.equal(referenceProblem(text, slot, 'here') !== undefined, flagged, `${text} ${JSON.stringify(slot)}`)
})
