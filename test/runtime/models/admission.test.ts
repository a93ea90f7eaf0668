/**
 * The registry on the request path, in-process (dispatch → admission → the mock provider): a
 * refusal answers before any provider is called, in the caller's protocol; a prompt over the
 * window moves down a `context_length` fallback; aliases and provider ids reach the provider; the
 * listener lists the registry.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch, type IncomingRequest } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { builtSnapshot } from '../../support/built-snapshot.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { redirectLog } from '../../../src/shared/log.js'

const CONFIG = `
listeners: [{ name: api, port: 8080, route_table: main }]
routes:
  - name: main
    rules:
      - name: tiny-first
        match: { model: { exact: tiny } }
        fallback:
          clusters: [{ cluster: small }, { cluster: big, model_rewrite: roomy }]
          on: [context_length]
      - name: tiny-no-context-fallback
        match: { model: { exact: tiny-strict } }
        fallback: { clusters: [{ cluster: small }, { cluster: big, model_rewrite: roomy }], on: [5xx] }
      - name: default
        cluster: small
clusters:
  - { name: small, provider: mock, mock: { reply: from small } }
  - { name: big, provider: mock, mock: { reply: from big } }
models:
  - name: tiny
    aliases: [t]
    provider_ids: { small: tiny-v1 }
    context_window: 40
    max_output_tokens: 100
    capabilities: { tools: false, vision: false }
  - { name: tiny-strict, context_window: 40 }
  - name: roomy
    provider_ids: { big: roomy-2025 }
    context_window: 100000
    prices: { input: 1, output: 2 }
`

function send(snap: Snapshot, body: object | undefined, path = '/v1/chat/completions', method = 'POST') {
  const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {}
  const incoming: IncomingRequest = { method, path, query: '', headers, body: body && Buffer.from(JSON.stringify(body)) }
  const down = new MemoryDownstream()
  dispatch(snap, snap.listeners.get(8080)!, incoming, down)
  return down
}

const chat = (model: string, content = 'hi', extra: object = {}) => ({ model, messages: [{ role: 'user', content }], ...extra })
const long = 'word '.repeat(100) // ~125 tokens by the estimate, over tiny's 40

function setup(t: TestContext): Snapshot {
  redirectLog(() => {})
  t.after(() => redirectLog(undefined))
  return builtSnapshot(t, 'models.yaml', CONFIG)
}

test('an alias is served as its model, with the cluster\'s provider id', async (t) => {
  const down = send(setup(t), chat('t'))
  await down.done
  assert.equal(down.status, 200)
  assert.equal(down.json().model, 'tiny-v1')
  assert.equal(down.json().choices[0].message.content, 'from small')
})

test('a capability the model lacks is refused before any provider, in OpenAI and Anthropic shapes', async (t) => {
  const snap = setup(t)
  const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]
  const o = send(snap, chat('tiny', 'hi', { tools }))
  await o.done
  assert.equal(o.status, 400)
  assert.deepStrictEqual(o.json().error, { message: "model 'tiny' does not support tools (function calling) (`tools`); remove it or choose another model", type: 'invalid_request_error', param: 'tools', code: 'unsupported_parameter' })
  const a = send(snap, { model: 'tiny', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }] }, '/v1/messages')
  await a.done
  assert.equal(a.status, 400)
  assert.equal(a.json().type, 'error')
  assert.equal(a.json().error.type, 'invalid_request_error')
  assert.match(a.json().error.message, /does not support image inputs \(vision\)/)
})

test('an output ceiling above the model\'s is refused, naming the field', async (t) => {
  const down = send(setup(t), chat('tiny', 'hi', { max_completion_tokens: 101 }))
  await down.done
  assert.equal(down.status, 400)
  assert.equal(down.json().error.param, 'max_completion_tokens')
  assert.equal(down.json().error.code, 'invalid_value')
})

test('a prompt over the window goes to the context_length fallback before the first cluster is called', async (t) => {
  const down = send(setup(t), chat('tiny', long))
  await down.done
  assert.equal(down.status, 200)
  assert.equal(down.json().choices[0].message.content, 'from big')
  assert.equal(down.json().model, 'roomy-2025')
  const short = send(setup(t), chat('tiny'))
  await short.done
  assert.equal(short.json().choices[0].message.content, 'from small')
})

test('without a context_length fallback the prompt is refused with context_length_exceeded', async (t) => {
  const snap = setup(t)
  const o = send(snap, chat('tiny-strict', long))
  await o.done
  assert.equal(o.status, 400)
  assert.equal(o.json().error.code, 'context_length_exceeded')
  assert.equal(o.json().error.param, 'messages')
  assert.match(o.json().error.message, /maximum context length is 40 tokens, but the request's prompt is about \d+ tokens \(estimated\)/)
  const a = send(snap, { model: 'tiny-strict', max_tokens: 10, messages: [{ role: 'user', content: long }] }, '/v1/messages')
  await a.done
  assert.equal(a.status, 400)
  assert.deepStrictEqual(Object.keys(a.json()), ['type', 'error'])
  assert.equal(a.json().error.type, 'invalid_request_error')
})

test('an unregistered model passes untouched', async (t) => {
  const down = send(setup(t), chat('whatever', long, { tools: [{ type: 'function', function: { name: 'f' } }] }))
  await down.done
  assert.equal(down.status, 200)
  assert.equal(down.json().model, 'whatever')
})

test('GET /v1/models lists the registry with metadata; /v1/models/<id> answers ids and aliases', async (t) => {
  const snap = setup(t)
  const list = send(snap, undefined, '/v1/models', 'GET')
  await list.done
  const data = list.json().data as any[]
  assert.deepStrictEqual(data.map((m) => m.id), ['tiny', 'tiny-strict', 'roomy'])
  assert.deepStrictEqual(data[0], {
    id: 'tiny', object: 'model', created: 0, owned_by: 'small', aliases: ['t'], context_window: 40, max_output_tokens: 100,
    capabilities: { tools: false, vision: false, json_mode: true, reasoning: true, streaming: true },
  })
  assert.deepStrictEqual(data[2].pricing, { input: 1, output: 2, cached_input: 1, per: '1M tokens' })
  const one = send(snap, undefined, '/v1/models/t', 'GET')
  await one.done
  assert.equal(one.json().id, 'tiny')
  const missing = send(snap, undefined, '/v1/models/nope', 'GET')
  await missing.done
  assert.equal(missing.status, 404)
  assert.equal(missing.json().error.code, 'model_not_found')
})

test('a rule naming /v1/models keeps it; without a registry nothing changes', (t) => {
  const claimed = builtSnapshot(t, 'claimed.yaml', CONFIG.replace('      - name: default\n', '      - { name: list, match: { path: { exact: /v1/models } }, cluster: big }\n      - name: default\n'))
  assert.equal(claimed.listeners.get(8080)!.modelsFirst, undefined)
  const plain = builtSnapshot(t, 'plain.yaml', CONFIG.slice(0, CONFIG.indexOf('models:')))
  assert.equal(plain.models, undefined)
  assert.equal(plain.listeners.get(8080)!.modelsFirst, undefined)
  assert.equal(setup(t).listeners.get(8080)!.modelsFirst, true)
})
