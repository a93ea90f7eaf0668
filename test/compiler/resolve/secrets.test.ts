import { test } from 'node:test'
import assert from 'node:assert/strict'
import { referenceSyntaxProblems, resolvesReferences } from '../../../src/compiler/resolve/secrets.js'
import { resolveContext, shown, validatedDocs } from '../../support/resolve-docs.js'

const [doc] = validatedDocs({
  's.yaml': `filters:
  - name: h
    type: headers
    config:
      request: { set: [{ name: authorization, value: "Bearer \${env:TOKEN}" }, { name: x-a, value: "\${env:MISSING}" }] }
`,
})
const at = (...more: (string | number)[]) => ({ doc, at: ['filters', 0, 'config', 'request', 'set', ...more] })

test('resolved values are remembered as secrets and references as needs; an unset one is reported where it is', () => {
  const ctx = resolveContext({ env: { TOKEN: 'tok-123' } })
  assert.equal(ctx.secrets.text('Bearer ${env:TOKEN}', at(0, 'value')), 'Bearer tok-123')
  assert.equal(ctx.secrets.text('${env:MISSING}', at(1, 'value')), undefined)
  assert.equal(ctx.secrets.secret('${env:MISSING}', at(1, 'value')), '')
  assert.deepStrictEqual(ctx.secrets.declared, ['tok-123'])
  assert.deepStrictEqual(ctx.secrets.needs, [{ kind: 'env', name: 'TOKEN' }], 'a reference that fails is reported, not needed')
  assert.deepStrictEqual(shown(ctx.diags), [
    's.yaml:5:99 SY_CFG_SECRET filters[0].config.request.set[1].value: ${env:MISSING} is not set',
    's.yaml:5:99 SY_CFG_SECRET filters[0].config.request.set[1].value: ${env:MISSING} is not set',
  ])
})

test('deep() resolves every string of a config, reporting each at its own path', () => {
  const ctx = resolveContext({ env: { TOKEN: 't' } })
  const config = (doc.value as any).filters[0].config
  assert.deepStrictEqual(ctx.secrets.deep(config, { doc, at: ['filters', 0, 'config'] }), {
    request: { set: [{ name: 'authorization', value: 'Bearer t' }, { name: 'x-a', value: '' }] },
  })
  assert.deepStrictEqual(ctx.diags.map((d) => d.path), ['filters[0].config.request.set[1].value'])
})

test('collect mode reads nothing: every reference stands in as a placeholder', () => {
  const ctx = resolveContext({ secrets: 'collect' })
  assert.equal(ctx.secrets.text('${env:MISSING}', at(1, 'value')), 'placeholder')
  assert.deepStrictEqual(ctx.diags, [])
})

test('only endpoint credentials, bedrock keys, health-check headers, filter configs and direct bodies resolve references', () => {
  const yes = [['clusters', 0, 'endpoints', 0, 'url'], ['clusters', 0, 'endpoints', 1, 'api_key'], ['clusters', 0, 'bedrock', 'session_token'], ['clusters', 0, 'health_check', 'headers', 'x'], ['filters', 0, 'config', 'a'], ['routes', 0, 'rules', 1, 'direct_response', 'body'], ['routes', 0, 'rules', 1, 'filter_overrides', 'f', 'config', 'x']]
  const no = [['clusters', 0, 'name'], ['clusters', 0, 'bedrock', 'region'], ['listeners', 0, 'address'], ['routes', 0, 'rules', 1, 'cluster'], ['filters', 0, 'type']]
  assert.deepStrictEqual(yes.filter((p) => !resolvesReferences(p)), [])
  assert.deepStrictEqual(no.filter((p) => resolvesReferences(p)), [])
})

test('a reference look-alike anywhere in a document is reported at its string', () => {
  const [d] = validatedDocs({ 'l.yaml': 'clusters:\n  - name: a\n    provider: mock\n    models: ["${env:NAME}", os.environ/MODEL]\n' })
  assert.deepStrictEqual(shown(referenceSyntaxProblems(d)).map((s) => s.slice(0, s.indexOf(':', s.indexOf(' ')))), [
    'l.yaml:4:14 SY_CFG_SECRET_SYNTAX clusters[0].models[0]',
    'l.yaml:4:29 SY_CFG_SECRET_SYNTAX clusters[0].models[1]',
  ])
})
