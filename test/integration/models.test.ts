/**
 * The model registry end to end: a real gateway process in front of two local OpenAI-format
 * upstreams, called with the official `openai` and `@anthropic-ai/sdk` clients. Lists models
 * with metadata, sends aliases and deprecated models as their (per-cluster) provider ids, moves a
 * prompt over the context window to the other cluster before the first is called, refuses what a
 * model cannot do with the SDKs' own error classes, answers `switchyard models` from the admin
 * API, and keeps serving the last good registry when a broken one is written.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { runCli } from '../support/run-cli.js'

let small: Upstream
let big: Upstream
let gw: GatewayProcess
let port: number
let openai: OpenAI
let anthropic: Anthropic

const config = (admin: number, extraModels = '') => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, routing_headers: true }
routes:
  - name: main
    rules:
      - name: tiny-first
        match: { model: { exact: tiny } }
        fallback:
          clusters: [{ cluster: small }, { cluster: big, model_rewrite: roomy }]
          on: [context_length]
      - name: default
        cluster: small
clusters:
  - { name: small, provider: openai, endpoints: [{ url: "${small.url}" }] }
  - { name: big, provider: openai, endpoints: [{ url: "${big.url}" }] }
models:
  - name: tiny
    aliases: [t, tiny-latest]
    provider_ids: { small: tiny-v1 }
    context_window: 60
    max_output_tokens: 256
    capabilities: { tools: false, vision: false, streaming: false }
    prices: { input: 0.5, output: 1 }
  - name: roomy
    provider_ids: { big: roomy-2025-01 }
    context_window: 100000
  - name: legacy
    deprecated_at: 2020-01-01
    replacement: t
    rewrite_to_replacement: true
  - { name: strict, context_window: 60 }
${extraModels}`

const LONG = 'lorem ipsum dolor sit amet '.repeat(40) // ~270 tokens by the estimate: over 60, under 100000

before(async () => {
  small = await startOpenAIUpstream('small')
  big = await startOpenAIUpstream('big')
  port = await freePort()
  // Generous: on a loaded CI box a worker's first build can take more than the default 10 s.
  gw = await startGateway((admin) => config(admin), { readyTimeoutMs: 30_000 })
  openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-client', maxRetries: 0 })
  anthropic = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'sk-client', maxRetries: 0 })
})

after(async () => {
  const code = gw === undefined ? 0 : await gw.stop()
  await small?.close()
  await big?.close()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

const seenModels = (up: Upstream, from: number) => up.requests.slice(from).filter((r) => r.url.endsWith('/chat/completions')).map((r) => r.body.model)

describe('model registry through the gateway', () => {
  test('models.list() and models.retrieve() show the registry with its metadata', async () => {
    const models = []
    for await (const m of openai.models.list()) models.push(m)
    assert.deepStrictEqual(models.map((m) => m.id), ['tiny', 'roomy', 'legacy', 'strict'])
    const tiny = models[0] as any
    assert.equal(tiny.object, 'model')
    assert.equal(tiny.context_window, 60)
    assert.equal(tiny.max_output_tokens, 256)
    assert.deepStrictEqual(tiny.aliases, ['t', 'tiny-latest'])
    assert.deepStrictEqual(tiny.capabilities, { tools: false, vision: false, json_mode: true, reasoning: true, streaming: false })
    assert.deepStrictEqual(tiny.pricing, { input: 0.5, output: 1, cached_input: 0.5, per: '1M tokens' })
    assert.equal((models[2] as any).deprecated_at, '2020-01-01')
    assert.equal((models[2] as any).replacement, 'tiny')
    const byAlias = await openai.models.retrieve('tiny-latest')
    assert.equal(byAlias.id, 'tiny')
    const e = await openai.models.retrieve('no-such-model').catch((err) => err)
    assert.ok(e instanceof OpenAI.NotFoundError, String(e))
    assert.equal(e.code, 'model_not_found')
    assert.equal(small.requests.filter((r) => r.url.includes('/models')).length, 0, 'the listing never went upstream')
  })

  test('an alias reaches the upstream as the cluster\'s provider id', async () => {
    const from = small.requests.length
    const r = await openai.chat.completions.create({ model: 't', messages: [{ role: 'user', content: 'hi' }] })
    assert.equal(r.choices[0].message.content, 'Hello from small.')
    assert.deepStrictEqual(seenModels(small, from), ['tiny-v1'])
  })

  test('a prompt over the context window goes to the other cluster before the first is called', async () => {
    const fromSmall = small.requests.length
    const fromBig = big.requests.length
    const { data, response } = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: LONG }] }).withResponse()
    assert.equal(data.choices[0].message.content, 'Hello from big.')
    assert.equal(response.headers.get('x-switchyard-cluster'), 'big')
    assert.equal(response.headers.get('x-switchyard-attempts'), '1', 'one upstream attempt: the small cluster was skipped, not tried')
    assert.deepStrictEqual(seenModels(small, fromSmall), [])
    assert.deepStrictEqual(seenModels(big, fromBig), ['roomy-2025-01'])
  })

  test('without a context_length fallback: 400 context_length_exceeded from both SDKs', async () => {
    const from = small.requests.length
    const e = await openai.chat.completions.create({ model: 'strict', messages: [{ role: 'user', content: LONG }] }).catch((err) => err)
    assert.ok(e instanceof OpenAI.BadRequestError, String(e))
    assert.equal(e.status, 400)
    assert.equal(e.code, 'context_length_exceeded')
    assert.equal(e.param, 'messages')
    assert.equal(e.type, 'invalid_request_error')
    const a = await anthropic.messages.create({ model: 'strict', max_tokens: 16, messages: [{ role: 'user', content: LONG }] }).catch((err) => err)
    assert.ok(a instanceof Anthropic.BadRequestError, String(a))
    assert.equal(a.status, 400)
    assert.equal((a.error as any).type, 'error')
    assert.equal((a.error as any).error.type, 'invalid_request_error')
    assert.match((a.error as any).error.message, /maximum context length is 60 tokens/)
    assert.equal(small.requests.length, from, 'no upstream was called')
  })

  test('a capability the model lacks: 400 naming it, from both SDKs, before any upstream', async () => {
    const from = small.requests.length
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }]
    const e = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], tools }).catch((err) => err)
    assert.ok(e instanceof OpenAI.BadRequestError, String(e))
    assert.equal(e.code, 'unsupported_parameter')
    assert.equal(e.param, 'tools')
    assert.match(e.message, /model 'tiny' does not support tools/)
    const s = await openai.chat.completions.create({ model: 't', messages: [{ role: 'user', content: 'hi' }], stream: true }).catch((err) => err)
    assert.ok(s instanceof OpenAI.BadRequestError, String(s))
    assert.equal(s.param, 'stream')
    const a = await anthropic.messages.create({
      model: 'tiny', max_tokens: 16,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'text', text: 'what is this?' }] }],
    }).catch((err) => err)
    assert.ok(a instanceof Anthropic.BadRequestError, String(a))
    assert.equal((a.error as any).error.type, 'invalid_request_error')
    assert.match((a.error as any).error.message, /does not support image inputs \(vision\)/)
    const m = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 }).catch((err) => err)
    assert.ok(m instanceof OpenAI.BadRequestError, String(m))
    assert.equal(m.param, 'max_tokens')
    assert.equal(small.requests.length, from)
  })

  test('a deprecated model is rewritten to its replacement, with one warning for many requests', async () => {
    const from = small.requests.length
    for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: 'legacy', messages: [{ role: 'user', content: 'hi' }] })
    assert.deepStrictEqual(seenModels(small, from), ['tiny-v1', 'tiny-v1', 'tiny-v1'])
    await eventually(() => gw.output().includes('served as its replacement'), undefined, 'the deprecation warning')
    const warnings = gw.output().split('\n').filter((l) => l.includes('deprecated model requested'))
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /model=legacy/)
    assert.match(warnings[0], /rewritten_to=tiny/)
  })

  test('switchyard models list|show --admin reads the running gateway', async () => {
    const list = await runCli(['models', 'list', '--admin', gw.admin])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /^tiny +t, tiny-latest +60 +256 +tools, vision, streaming +0\.5\/1 +active$/m)
    assert.match(list.stdout, /^legacy .*deprecated since 2020-01-01 → tiny \(rewritten\)$/m)
    const show = await runCli(['models', 'show', 'tiny-latest', '--admin', gw.admin, '--json'])
    assert.equal(show.code, 0, show.stderr)
    const v = JSON.parse(show.stdout)
    assert.equal(v.name, 'tiny')
    assert.deepStrictEqual(v.provider_ids, { small: 'tiny-v1' })
    assert.deepStrictEqual(v.listeners, { api: 'small' })
    const missing = await runCli(['models', 'show', 'nope', '--admin', gw.admin])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /no model or alias 'nope'/)
  })

  test('a broken registry is rejected at file:line:col and the last good one keeps serving', async () => {
    const before = await (await fetch(`${gw.admin}/config`)).json() as { version: string }
    gw.writeConfig(config(gw.adminPort, '  - { name: dup, aliases: [t], provider_ids: { nowhere: x } }\n'))
    await eventually(async () => ((await (await fetch(`${gw.admin}/config`)).json()) as { last_error: unknown }).last_error !== null, undefined, 'the broken config to be reported')
    const c = await (await fetch(`${gw.admin}/config`)).json() as { version: string; last_error: string[] }
    assert.equal(c.version, before.version)
    assert.ok(c.last_error.some((e) => /config\.yaml:\d+:\d+: models\[4\]\.aliases\[0\]: model 'dup': 't' is already an alias of model 'tiny'/.test(e)), c.last_error.join('\n'))
    assert.ok(c.last_error.some((e) => /config\.yaml:\d+:\d+: models\[4\]\.provider_ids\.nowhere: model 'dup': unknown cluster 'nowhere'/.test(e)), c.last_error.join('\n'))
    const from = small.requests.length
    const r = await openai.chat.completions.create({ model: 't', messages: [{ role: 'user', content: 'still here?' }] })
    assert.equal(r.choices[0].message.content, 'Hello from small.')
    assert.deepStrictEqual(seenModels(small, from), ['tiny-v1'])
  })
})
