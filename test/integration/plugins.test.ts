/**
 * Plugin filters end to end: a real gateway process (two workers) with the example plugins
 * (examples/plugins/), a plugin that fails on demand and one that is edited while it serves; the
 * official `openai` and `@anthropic-ai/sdk` clients; OpenAI and Anthropic upstream mocks that
 * record what they were sent.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIMock } from '../support/mocks/openai-mock.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { pluginDir } from '../support/plugin-modules.js'
import { repoRoot } from '../support/repo-root.js'

const dir = pluginDir()
const file = (name: string) => join(dir, name)

const THROWER = `
// Fails the hook the caller names in x-boom.
export function create(options, host) {
  const boom = (ctx, hook) => { if (ctx.headers['x-boom'] === hook) throw new Error('thrower went boom in ' + hook) }
  return {
    onRequest(ctx) {
      boom(ctx, 'request')
      if (ctx.headers['x-boom'] === 'reject') return Promise.reject(new Error('rejected'))
    },
    onResponse(ctx) { if (ctx.state.boomResponse) throw new Error('late') },
    onChunk(ctx) { if (ctx.state.chunks = (ctx.state.chunks ?? 0) + 1, ctx.state.chunks === 2) boom(ctx, 'chunk') },
  }
}
`
const tagger = (version: string) => `export function create() { return { onRequest(ctx) { ctx.setHeader('x-plugin-version', '${version}') } } }\n`

let oa: ProviderMock
let leaky: ProviderMock
let an: ProviderMock
let anLeaky: ProviderMock
let gw: GatewayProcess
let port: number

before(async () => {
  copyFileSync(join(repoRoot, 'examples/plugins/pii-redactor.mjs'), file('pii-redactor.mjs'))
  copyFileSync(join(repoRoot, 'examples/plugins/keyword-guard.mjs'), file('keyword-guard.mjs'))
  writeFileSync(file('thrower.mjs'), THROWER)
  writeFileSync(file('tagger.mjs'), tagger('1'))
  oa = await startOpenAIMock({ apiKey: 'oa-key', reply: 'Noted.' })
  leaky = await startOpenAIMock({ apiKey: 'oa-key', reply: 'The launch plan is classified, so here is nothing more.', chunks: 6, delayMs: 20 })
  an = await startAnthropicMock({ apiKey: 'an-key', reply: 'Noted.' })
  anLeaky = await startAnthropicMock({ apiKey: 'an-key', reply: 'That file is classified material, sorry.', chunks: 6, delayMs: 20 })
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [redact, guard, thrower, tagger] }
filters:
  - { name: redact, type: plugin, config: { module: ${file('pii-redactor.mjs')} } }
  - { name: guard, type: plugin, config: { module: ${file('keyword-guard.mjs')}, options: { words: [classified], message: stopped by the keyword guard } } }
  - { name: thrower, type: plugin, config: { module: ${file('thrower.mjs')} } }
  - { name: tagger, type: plugin, config: { module: ${file('tagger.mjs')} } }
routes:
  - name: main
    rules:
      - { name: claude-leaky, match: { model: { glob: "claude-leaky*" } }, cluster: anthropic-leaky }
      - { name: claude, match: { model: { glob: "claude-*" } }, cluster: anthropic }
      - { name: leaky, match: { model: { glob: "leaky-*" } }, cluster: leaky }
      - { name: gpt, cluster: openai }
clusters:
  - { name: openai, provider: openai, endpoints: [{ url: "${oa.url}/v1", api_key: oa-key }] }
  - { name: leaky, provider: openai, endpoints: [{ url: "${leaky.url}/v1", api_key: oa-key }] }
  - { name: anthropic, provider: anthropic, endpoints: [{ url: "${an.url}/v1", api_key: an-key }] }
  - { name: anthropic-leaky, provider: anthropic, endpoints: [{ url: "${anLeaky.url}/v1", api_key: an-key }] }
`, { workers: 2 })
})

after(async () => {
  await gw?.stop()
  await Promise.all([oa?.close(), leaky?.close(), an?.close(), anLeaky?.close()])
})

const openai = (headers: Record<string, string> = {}) => new OpenAI({ apiKey: 'caller', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, defaultHeaders: headers })
const anthropic = (headers: Record<string, string> = {}) => new Anthropic({ apiKey: 'caller', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0, defaultHeaders: headers })
const lastSent = (m: ProviderMock) => m.requests.at(-1)!
const metric = async (series: string) => {
  const text = await (await fetch(`${gw.admin}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}
const chat = (client = openai(), model = 'gpt-4o') => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] })

test('the redactor masks e-mail, phone and card numbers before the upstream sees them (OpenAI and Anthropic)', async () => {
  const text = 'Reach jane.doe@example.com or +1 415 555 2671; card 4111 1111 1111 1111; order 1234.'
  await openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'ops: ops@example.org' }, { role: 'user', content: text }] })
  assert.deepStrictEqual(lastSent(oa).json.messages.map((m: { content: string }) => m.content), [
    'ops: [redacted email]',
    'Reach [redacted email] or [redacted phone]; card [redacted card]; order 1234.',
  ])
  await anthropic().messages.create({ model: 'claude-x', max_tokens: 50, system: 'Call 020 7946 0958.', messages: [{ role: 'user', content: [{ type: 'text', text }] }] })
  const sent = lastSent(an).json
  assert.equal(sent.system, 'Call [redacted phone].')
  assert.equal(sent.messages[0].content[0].text, 'Reach [redacted email] or [redacted phone]; card [redacted card]; order 1234.')
})

test('the guard stops a streamed OpenAI answer at the banned word: the SDK raises, the word never arrives', async () => {
  const stream = await openai().chat.completions.create({ model: 'leaky-1', stream: true, messages: [{ role: 'user', content: 'the plan?' }] })
  let received = ''
  await assert.rejects(
    (async () => {
      for await (const c of stream) received += c.choices[0]?.delta?.content ?? ''
    })(),
    (e: unknown) => e instanceof OpenAI.APIError && /stopped by the keyword guard/.test(e.message),
  )
  assert.ok(!received.includes('classified'), `the client got: ${received}`)
})

test('the guard stops a streamed Anthropic answer the same way', async () => {
  const stream = anthropic().messages.stream({ model: 'claude-leaky', max_tokens: 50, messages: [{ role: 'user', content: 'the file?' }] })
  let received = ''
  stream.on('text', (t) => (received += t))
  await assert.rejects(stream.finalMessage(), (e: unknown) => e instanceof Anthropic.APIError && /stopped by the keyword guard/.test(e.message))
  assert.ok(!received.includes('classified'), `the client got: ${received}`)
})

test('the guard refuses a whole (non-streamed) answer with its message, before any byte of it left', async () => {
  await assert.rejects(openai().chat.completions.create({ model: 'leaky-1', messages: [{ role: 'user', content: 'the plan?' }] }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError)
    assert.equal(e.code, 'plugin_refused')
    assert.equal(e.message, '400 stopped by the keyword guard')
    return true
  })
  await assert.rejects(anthropic().messages.create({ model: 'claude-leaky', max_tokens: 50, messages: [{ role: 'user', content: 'the file?' }] }), (e: unknown) => {
    assert.ok(e instanceof Anthropic.BadRequestError)
    assert.deepStrictEqual(e.error, { type: 'error', error: { type: 'invalid_request_error', message: 'stopped by the keyword guard' } })
    return true
  })
})

test('a throwing onRequest fails that request with a 500 in each protocol; others are fine; counted and logged with the plugin name', async () => {
  const before = await metric('switchyard_plugin_errors_total{plugin="thrower",hook="onRequest"}')
  await assert.rejects(chat(openai({ 'x-boom': 'request' })), (e: unknown) => {
    assert.ok(e instanceof OpenAI.InternalServerError)
    assert.equal(e.status, 500)
    assert.equal(e.code, 'plugin_error')
    assert.match(e.message, /plugin 'thrower' failed in onRequest \(request /)
    assert.ok(!e.message.includes('boom'), 'the exception text stays in the log')
    return true
  })
  await assert.rejects(anthropic({ 'x-boom': 'request' }).messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
    assert.ok(e instanceof Anthropic.InternalServerError)
    assert.equal((e.error as { error: { type: string } }).error.type, 'api_error')
    return true
  })
  await assert.rejects(chat(openai({ 'x-boom': 'reject' })), (e: unknown) => e instanceof OpenAI.InternalServerError && e.code === 'plugin_error')
  // Both workers still serve: several fresh connections, all answered.
  for (let i = 0; i < 6; i++) assert.equal((await chat()).choices[0].message.content, 'Noted.')
  assert.equal(await metric('switchyard_plugin_errors_total{plugin="thrower",hook="onRequest"}'), before + 3)
  await eventually(() => /plugin hook failed; the request fails.*plugin=thrower/.test(gw.output()) || gw.output().includes('"plugin":"thrower"'), undefined, 'the failure logged with the plugin name')
  assert.ok(!/worker failed|worker exited/.test(gw.output()), gw.output())
})

test('a hook that throws mid-stream ends the stream with an error event; the next stream is fine', async () => {
  const stream = await openai({ 'x-boom': 'chunk' }).chat.completions.create({ model: 'leaky-1', stream: true, messages: [{ role: 'user', content: 'go' }] })
  await assert.rejects(
    (async () => {
      for await (const _ of stream);
    })(),
    (e: unknown) => e instanceof OpenAI.APIError && /plugin 'thrower' failed in onChunk/.test(e.message),
  )
  assert.ok((await metric('switchyard_plugin_errors_total{plugin="thrower",hook="onChunk"}')) >= 1)
  const ok = await openai().chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'go' }] })
  let text = ''
  for await (const c of ok) text += c.choices[0]?.delta?.content ?? ''
  assert.equal(text, 'Noted.')
})

test('editing a plugin file reloads it; a broken edit is rejected at its config and the last good version keeps serving', async () => {
  await chat()
  assert.equal(lastSent(oa).headers['x-plugin-version'], '1')
  const configAt = async () => (await (await fetch(`${gw.admin}/config`)).json()) as { version: string; last_error: string[] | null }
  const v1 = (await configAt()).version
  writeFileSync(file('tagger.mjs'), tagger('2'))
  await eventually(async () => (await chat(), lastSent(oa).headers['x-plugin-version'] === '2'), undefined, 'the edited plugin to serve')
  const v2 = (await configAt()).version
  assert.notEqual(v2, v1)
  // Every worker imported the new version: fresh connections all see it.
  for (let i = 0; i < 4; i++) {
    await chat()
    assert.equal(lastSent(oa).headers['x-plugin-version'], '2')
  }

  writeFileSync(file('tagger.mjs'), "throw new Error('half-written plugin')\n")
  await eventually(async () => (await configAt()).last_error !== null, undefined, 'the broken edit to be reported')
  const { version, last_error } = await configAt()
  assert.equal(version, v2)
  assert.ok(last_error!.some((l) => /config\.yaml:\d+:\d+: filters\[3\]\.config\.module: plugin 'tagger': module threw while loading: half-written plugin/.test(l)), last_error!.join('\n'))
  await chat()
  assert.equal(lastSent(oa).headers['x-plugin-version'], '2')

  writeFileSync(file('tagger.mjs'), tagger('3'))
  await eventually(async () => (await chat(), lastSent(oa).headers['x-plugin-version'] === '3'), undefined, 'the fixed plugin to serve')
  assert.equal((await configAt()).last_error, null)
})
