/**
 * Issue 13, models: `GET /v1/models` on the quickstart listed nothing, because its rule matches
 * models by glob and a glob names no model. Clusters now declare the names they serve
 * (`models:`), a mock cluster lists its own, and the listener's answer lists them — filtered by
 * each rule's `model` match, so every listed name routes where it is listed.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { compileConfig } from '../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../src/runtime/build/snapshot.js'
import { dispatch } from '../../src/runtime/http/dispatch.js'
import { createStores } from '../../src/runtime/stores.js'
import { MemoryDownstream } from '../support/memory-downstream.js'
import { repoRoot } from '../support/repo-root.js'
import { startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

test('the quickstart lists the models its clusters declare, through the openai SDK', async (t) => {
  const port = await freePort()
  const quickstart = readFileSync(join(repoRoot, 'examples', 'quickstart.yaml'), 'utf8')
  const gw = await startGateway((adminPort) => quickstart
    .replace(/^(\s+)port: 9901$/m, `$1port: ${adminPort}`)
    .replace(/^(\s+)port: 8080$/m, `$1port: ${port}`)
    .replace(/address: 0\.0\.0\.0/, 'address: 127.0.0.1'))
  t.after(() => gw.stop())
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 })
  const models = []
  for await (const m of client.models.list()) models.push(m)
  assert.deepStrictEqual(models.map((m) => [m.id, m.owned_by]).sort(), [['gpt-4o', 'mock-a|mock-b'], ['gpt-4o-mini', 'mock-a|mock-b']])
  // Every listed name is one the listener routes.
  const r = await client.chat.completions.create({ model: models[0].id, messages: [{ role: 'user', content: 'hi' }] })
  assert.match(r.choices[0].message.content ?? '', /^Hello from variant [AB]\.$/)
})

const CONFIG = `
admin: { port: 0 }
listeners:
  - { name: public, port: 8080, route_table: main }
  - { name: passthrough, port: 8081, route_table: everything }
routes:
  - name: main
    rules:
      - { name: exact, match: { model: { exact: pinned } }, cluster: declared }
      - { name: glob, match: { model: { glob: "gpt-*" } }, cluster: declared }
      - { name: mapped, match: { model: { glob: "claude-*" } }, cluster: mapped }
      - { name: bare, match: { path: { exact: /v1/chat/completions } }, cluster: bare-mock }
  - name: everything
    rules:
      - { name: all, match: { path: { prefix: /v1/ } }, cluster: declared }
clusters:
  - { name: declared, provider: mock, models: [gpt-4o, o3-mini, gpt-4.1] }
  - { name: mapped, provider: mock, model_map: { claude-sonnet: claude-sonnet-4-5 } }
  - { name: bare-mock, provider: mock }
`

function modelsFrom(t: TestContext, port: number): Promise<[string, string][]> {
  const r = compileConfig([{ name: 'models.yaml', text: CONFIG }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n'))
  const stores = createStores()
  const snap = buildSnapshot(r.ir, stores)
  t.after(() => releaseSnapshot(snap, stores))
  const down = new MemoryDownstream()
  dispatch(snap, snap.listeners.get(port)!, { method: 'GET', path: '/v1/models', query: '', headers: {}, body: undefined }, down)
  return down.done.then(() => {
    assert.equal(down.status, 200)
    return down.json().data.map((m: { id: string; owned_by: string }) => [m.id, m.owned_by])
  })
}

test('each rule lists the names that would reach it: the exact model, glob matches, model_map keys, a bare mock’s default', async (t) => {
  assert.deepStrictEqual(await modelsFrom(t, 8080), [
    ['pinned', 'declared'],
    ['gpt-4o', 'declared'],
    ['gpt-4.1', 'declared'],
    ['claude-sonnet', 'mapped'],
    ['mock', 'bare-mock'],
  ])
})

test('a rule that sends GET /v1/models to a mock cluster gets the mock’s own list', async (t) => {
  assert.deepStrictEqual(await modelsFrom(t, 8081), [['gpt-4o', 'declared'], ['o3-mini', 'declared'], ['gpt-4.1', 'declared']])
})

test('models must be a list of distinct non-empty names', () => {
  const bad = CONFIG.replace('models: [gpt-4o, o3-mini, gpt-4.1]', 'models: [gpt-4o, gpt-4o, ""]')
  const r = compileConfig([{ name: 'models.yaml', text: bad }], { source: 'test', env: {} })
  assert.equal(r.ok, false)
  assert.deepStrictEqual(r.diagnostics.map((d) => [d.code, d.path]).sort(), [['SY_CFG_SCHEMA', 'clusters[0].models'], ['SY_CFG_SCHEMA', 'clusters[0].models[2]']])
})
