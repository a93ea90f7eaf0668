/**
 * Issue 13, secrets syntax: a string that looks like a variable reference but is not one Switchyard
 * resolves (`${OPENAI_API_KEY}`, `${ENV:…}`, `$OPENAI_API_KEY`, LiteLLM's `os.environ/…`, …) used to
 * pass validate and go upstream as written. Now it is a config error at file:line:col with the
 * fix; legitimate values that merely contain a `$` (a price, a regex) are left alone.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../src/compiler/index.js'
import { assertNoTrace } from '../support/run-cli.js'
import { freePort } from '../support/ports.js'
import { switchyard, tempDir, withEndpoints } from '../support/secrets-cli.js'

const FROM_THE_ISSUE = withEndpoints(`      - url: https://api.openai.com/v1
        api_key: "\${OPENAI_API_KEY}"
      - url: https://api.openai.com/v1
        api_key: "\${ENV:OPENAI_API_KEY}"
      - url: https://api.openai.com/v1
        api_key: "$OPENAI_API_KEY"
      - url: https://api.openai.com/v1
        api_key: "os.environ/OPENAI_API_KEY"`)

const expectedLines = (file: string) => [
  `${file}:12:18: clusters[0].endpoints[0].api_key: \${OPENAI_API_KEY} is used literally (references are \${env:NAME} or \${file:path}); did you mean \${env:OPENAI_API_KEY}?`,
  `${file}:14:18: clusters[0].endpoints[1].api_key: \${ENV:OPENAI_API_KEY}: reference kinds are written lower-case with a colon; did you mean \${env:OPENAI_API_KEY}?`,
  `${file}:16:18: clusters[0].endpoints[2].api_key: $OPENAI_API_KEY is used literally (references are \${env:NAME} or \${file:path}); did you mean \${env:OPENAI_API_KEY}?`,
  `${file}:18:18: clusters[0].endpoints[3].api_key: os.environ/OPENAI_API_KEY (LiteLLM's syntax) is used literally (references are \${env:NAME} or \${file:path}); did you mean \${env:OPENAI_API_KEY}?`,
]

test('validate rejects ${NAME}, ${ENV:NAME}, $NAME and os.environ/NAME at file:line:col, each with the fix', async () => {
  const dir = tempDir({ 'gateway.yaml': FROM_THE_ISSUE })
  for (const extra of [[], ['--resolve-secrets']]) {
    const r = await switchyard(['validate', 'gateway.yaml', ...extra], { cwd: dir, env: { OPENAI_API_KEY: 'sk-set-on-this-machine' } })
    assertNoTrace(r.stderr)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.equal(r.stdout, '')
    assert.deepStrictEqual(r.stderr.trimEnd().split('\n'), [...expectedLines('gateway.yaml'), '4 errors'])
    assert.ok(!r.stderr.includes('sk-set-on-this-machine'))
  }
})

test('run refuses the same config at start, before it serves anything', async () => {
  const port = await freePort()
  const dir = tempDir({ 'gateway.yaml': FROM_THE_ISSUE.replace('port: 18413', `port: ${port}`) })
  const r = await switchyard(['run', 'gateway.yaml', '--workers', '1'], { cwd: dir, timeoutMs: 8000 })
  assertNoTrace(r.stderr)
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.deepStrictEqual(r.stderr.trimEnd().split('\n'), [...expectedLines('gateway.yaml'), 'switchyard: invalid configuration (4 errors)'])
})

/** One endpoint's api_key, plus a headers filter setting `header: value`. */
const config = (apiKey: string, header = 'x-tag', value = 'plain') => `
listeners: [{ name: l, port: 18413, route_table: t, filters: [h] }]
routes:
  - name: t
    rules:
    - cluster: c
clusters:
  - name: c
    provider: openai
    endpoints: [{ url: "https://api.openai.com/v1", api_key: ${JSON.stringify(apiKey)} }]
filters:
  - name: h
    type: headers
    config: { request: { set: [{ name: ${JSON.stringify(header)}, value: ${JSON.stringify(value)} }] } }
`
const compile = (text: string, env: Record<string, string> = {}) => compileConfig([{ name: 'c.yaml', text, baseDir: tempDir({ 'key.txt': 'sk-from-file\n' }) }], { source: 'test', env })
const problems = (text: string) => {
  const r = compile(text)
  return r.ok ? [] : r.diagnostics.map((d) => ({ code: d.code, path: d.path, message: d.message }))
}

const KEY = 'clusters[0].endpoints[0].api_key'
const HEADER = 'filters[0].config.request.set[0].value'
const LOOK_ALIKES: { what: string; text: string; path: string; fix: string }[] = [
  { what: 'shell/compose ${NAME}', text: config('${OPENAI_API_KEY}'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: 'upper-case kind', text: config('${ENV:OPENAI_API_KEY}'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: 'upper-case file kind', text: config('${FILE:key.txt}'), path: KEY, fix: 'did you mean ${file:key.txt}?' },
  { what: 'a dot for the colon', text: config('${env.OPENAI_API_KEY}'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: 'a shell default', text: config('${env:OPENAI_API_KEY:-sk-none}'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: 'a bare $NAME', text: config('$OPENAI_API_KEY'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: '$(NAME), as Kubernetes writes it', text: config('$(OPENAI_API_KEY)'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: 'Windows %NAME%', text: config('%OPENAI_API_KEY%'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: "LiteLLM's os.environ/NAME", text: config('os.environ/OPENAI_API_KEY'), path: KEY, fix: 'did you mean ${env:OPENAI_API_KEY}?' },
  { what: '${path} of a file', text: config('${secrets/aws.key}'), path: KEY, fix: 'did you mean ${file:secrets/aws.key}?' },
  { what: 'Bearer $NAME in an authorization header', text: config('${env:K}', 'authorization', 'Bearer $TOKEN'), path: HEADER, fix: 'did you mean "Bearer ${env:TOKEN}"?' },
  { what: '$NAME in an x-api-key header', text: config('${env:K}', 'x-api-key', '$PARTNER_KEY'), path: HEADER, fix: 'did you mean ${env:PARTNER_KEY}?' },
  { what: '${NAME} in any header', text: config('${env:K}', 'x-team', 'team-${TEAM}'), path: HEADER, fix: 'did you mean ${env:TEAM}?' },
]

for (const c of LOOK_ALIKES) {
  test(`${c.what} is SY_CFG_SECRET_SYNTAX with the fix`, () => {
    const got = problems(c.text.replace('${env:K}', 'sk-literal'))
    assert.deepStrictEqual(got.map((d) => [d.code, d.path]), [['SY_CFG_SECRET_SYNTAX', c.path]])
    assert.ok(got[0].message.endsWith(c.fix), got[0].message)
  })
}

test('an unknown reference kind lists the known ones', () => {
  assert.deepStrictEqual(problems(config('${vault:secret/openai}')), [
    { code: 'SY_CFG_SECRET_SYNTAX', path: KEY, message: "${vault:secret/openai}: unknown reference kind 'vault' (known: env, file)" },
  ])
})

test('empty and unterminated references are errors that quote no value', () => {
  assert.deepStrictEqual(problems(config('${env:}')).map((d) => d.message), ['${env:} names no variable; write ${env:NAME}'])
  assert.deepStrictEqual(problems(config('${file:}')).map((d) => d.message), ['${file:} names no file; write ${file:path} (relative to this YAML file)'])
  const unterminated = problems(config('sk-abc123${env:K'))
  assert.deepStrictEqual(unterminated.map((d) => d.code), ['SY_CFG_SECRET_SYNTAX'])
  assert.ok(!unterminated[0].message.includes('sk-abc123'), unterminated[0].message)
})

test('a reference in a field that does not resolve references is an error, not a value sent as written', () => {
  const text = config('sk-literal').replace('    - cluster: c\n', `    - match: { headers: [{ name: x-tenant, exact: "\${env:TENANT}" }] }
      cluster: c
      model_rewrite: "\${MODEL}"
`)
  assert.deepStrictEqual(problems(text).map((d) => [d.code, d.path, d.message.replace(/ \(.*/, '')]), [
    ['SY_CFG_SECRET_SYNTAX', 'routes[0].rules[0].match.headers[0].exact', '${env:TENANT} is used literally: this field does not resolve references'],
    ['SY_CFG_SECRET_SYNTAX', 'routes[0].rules[0].model_rewrite', '${MODEL} is used literally: this field does not resolve references'],
  ])
})

test('values that only contain a $ are not references: prices, regexes, $NAME outside credentials', () => {
  const text = config('${env:K}', 'x-note', 'costs $5, or $HOME').replace('    - cluster: c\n', `    - match: { path: { regex: "^/v1/[a-z]+\\\\$" }, headers: [{ name: x-price, exact: "$5" }] }
      direct_response: { status: 200, body: "$5 a month, $ENTERPRISE on request" }
    - cluster: c
`)
  const r = compile(text, { K: 'sk-env' })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
})

test('well-formed references still resolve, alone, inside text and from files', () => {
  for (const [key, header, value] of [['${env:K}', 'authorization', 'Bearer ${env:K}'], ['${file:key.txt}', 'cookie', 'sid=${file:key.txt}; theme=dark'], ['sk-${env:K}-suffix', 'x-api-key', '${env:K}']]) {
    const r = compile(config(key, header, value), { K: 'sk-env' })
    assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
    assert.ok(!JSON.stringify(r.ir.clusters).includes('${'), 'references resolved')
  }
})

test('a literal api key with a $ in it is not mistaken for a reference', () => {
  for (const key of ['sk-abc$def', '$ecret-lower-case', 'p@$$w0rd']) assert.deepStrictEqual(problems(config(key)), [], key)
})
