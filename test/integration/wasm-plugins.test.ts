/**
 * proxy-wasm filters in a real gateway process, driven by the official openai and
 * @anthropic-ai/sdk clients: header and body callbacks (streams included), local replies in the
 * caller's protocol, properties, shared data, and every kind of trap failing only its request
 * (counted in /metrics, logged with the plugin's name) while the worker and later requests carry
 * on. A changed .wasm file reloads the config; a broken one is refused and the last good serves.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { request } from 'undici'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { buildPlugin, writePlugins } from '../support/wasm-plugins.js'

let up: Upstream
let gw: GatewayProcess
let port: number
let wasm: Record<string, string>
let openai: OpenAI
let anthropic: Anthropic

const config = (admin: number) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [deny, head, body, trap, spin, hog] }
routes:
  - name: main
    rules:
      - name: plain
        match: { headers: [{ name: x-plain, present: true }] }
        cluster: a
        filter_overrides: { body: { disabled: true } }
      - { name: plugins, cluster: a }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${up.url}" }] }
filters:
  - { name: deny, type: wasm, config: { module: "${wasm.deny}" } }
  - { name: head, type: wasm, config: { module: "${wasm.headers}", configuration: { hello: world } } }
  - { name: body, type: wasm, config: { module: "${wasm.body}" } }
  - { name: trap, type: wasm, config: { module: "${wasm.trap}" } }
  - { name: spin, type: wasm, config: { module: "${wasm.spin}", fuel: 200000 } }
  - { name: hog, type: wasm, config: { module: "${wasm.hog}", memory_limit: 1mb } }
`

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-wasm-'))
  wasm = await writePlugins(dir, ['deny', 'headers', 'body', 'trap', 'spin', 'hog', 'noop'])
  up = await startOpenAIUpstream('A', { chunkDelayMs: 30 })
  port = await freePort()
  gw = await startGateway(config, { workers: 1 })
  openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 })
  anthropic = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'unused', maxRetries: 0 })
})

after(async () => {
  const code = await gw?.stop()
  await up?.close()
  assert.equal(code, 0, gw?.output())
})

const ask = (content = 'hi', headers: Record<string, string> = {}) =>
  openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }] }, { headers })

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${gw.admin}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line ? Number(line.split(' ')[1]) : 0
}

test('header and body callbacks, properties, configuration and shared data (openai client)', async () => {
  const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'my SECRET plan' }] }).withResponse()
  assert.equal(data.choices[0].message.content, 'HOWDY from A.')
  assert.equal(response.headers.get('x-wasm-config'), '{"hello":"world"}')
  assert.equal(response.headers.get('x-wasm-route'), 'plugins')
  assert.equal(response.headers.get('x-wasm-cluster'), 'a')
  assert.equal(response.headers.get('x-wasm-path'), '/v1/chat/completions')
  assert.equal(response.headers.get('x-wasm-missing'), null, 'an unknown property is NOT_FOUND')
  const sent = up.requests.at(-1)!
  assert.equal(sent.headers['x-wasm-seen'], '1')
  assert.equal(sent.body.messages[0].content, 'my ****** plan', 'the request body was rewritten before it went upstream')
  const first = Number(response.headers.get('x-wasm-count'))
  const again = await ask().withResponse()
  assert.equal(Number(again.response.headers.get('x-wasm-count')), first + 1, 'shared data keeps its value between requests')
  assert.match(gw.output(), /wasm plugin log.*plugin.*head.*configured|configured.*head/, 'proxy_log reaches the gateway log with the plugin name')
})

test('a streamed answer passes the body callbacks (held with PAUSE, released at the end)', async () => {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  let text = ''
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
  assert.equal(text, 'HOWDY from A.')
})

test('the Anthropic client, whole and streamed, through the same plugins', async () => {
  const m = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(m.content[0].type === 'text' && m.content[0].text, 'HOWDY from A.')
  const s = anthropic.messages.stream({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(await s.finalText(), 'HOWDY from A.')
})

test('local replies: no body → an error in the caller\'s protocol at the plugin\'s status; a body → as given', async () => {
  await assert.rejects(ask('hi', { 'x-deny': '1' }), (e: any) => {
    assert.equal(e.status, 403)
    assert.equal(e.code, 'plugin_local_reply')
    assert.match(e.message, /refused by plugin 'deny' \(denied by policy\)/)
    assert.equal(e.headers.get('x-denied-by'), 'wasm')
    return true
  })
  await assert.rejects(anthropic.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-deny': '1' } }), (e: any) => {
    assert.equal(e.status, 403)
    assert.equal(e.error?.type, 'error')
    assert.equal(e.error?.error?.type, 'permission_error')
    return true
  })
  const r = await request(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-deny-body': '1' }, body: JSON.stringify({ model: 'gpt-4o', messages: [] }) })
  assert.equal(r.statusCode, 429)
  assert.equal(r.headers['content-type'], 'text/plain')
  assert.equal(await r.body.text(), 'slow down')
})

test('each kind of trap fails its request with a 500 in the caller\'s protocol; the next request is served', async () => {
  const cases: [string, string, string][] = [
    ['trap', 'headers', 'unreachable'],
    ['trap', 'oob', 'out_of_bounds'],
    ['trap', 'response', 'unreachable'],
    ['spin', '1', 'out_of_fuel'],
    ['hog', '1', 'memory_limit'],
  ]
  for (const [plugin, value, reason] of cases) {
    const series = `switchyard_wasm_plugin_traps_total{plugin="${plugin}",reason="${reason}"}`
    const before = await metric(series)
    const started = Date.now()
    await assert.rejects(ask('hi', { [`x-${plugin}`]: value }), (e: any) => {
      assert.equal(e.status, 500, `${plugin}/${value}`)
      assert.equal(e.code, 'sy_wasm_trap')
      assert.match(e.message, new RegExp(`plugin '${plugin}' failed \\(${reason}\\)`))
      return true
    })
    assert.ok(Date.now() - started < 5000, 'fuel ends a runaway callback quickly')
    assert.equal(await metric(series), before + 1, series)
    const ok = await ask()
    assert.equal(ok.choices[0].message.content, 'HOWDY from A.', `served after the ${plugin} trap`)
  }
  await assert.rejects(anthropic.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-trap': 'headers' } }), (e: any) => {
    assert.equal(e.status, 500)
    assert.equal(e.error?.error?.type, 'api_error')
    return true
  })
  assert.match(gw.output(), /wasm plugin trapped/)
  assert.ok((await metric('switchyard_wasm_plugin_vm_starts_total{plugin="trap"}')) >= 4, 'a new VM after each trap')
})

test('a trap in the body callback of a stream under way ends it with an error event', async () => {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-plain': '1', 'x-trap': 'body' } })
  let text = ''
  await assert.rejects(async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
  }, /plugin 'trap' failed/)
  assert.equal(text, 'Hello ', 'the first chunk arrived before the trap')
  const ok = await openai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-plain': '1' } })
  let after = ''
  for await (const c of ok) after += c.choices[0]?.delta?.content ?? ''
  assert.equal(after, 'Hello from A.', 'the route without the body plugin streams untouched')
})

test('a changed .wasm file reloads the config; a broken one is refused and the last good keeps serving', async () => {
  const version = async () => ((await (await fetch(`${gw.admin}/config`)).json()) as any).version as string
  const v0 = await version()
  const countBefore = Number((await ask().withResponse()).response.headers.get('x-wasm-count'))
  writeFileSync(wasm.deny, await buildPlugin('noop'))
  await eventually(async () => (await version()) !== v0, undefined, 'reload after the module changed')
  const r = await ask('hi', { 'x-deny': '1' }).withResponse()
  assert.equal(r.data.choices[0].message.content, 'HOWDY from A.', 'the new module serves')
  assert.ok(Number(r.response.headers.get('x-wasm-count')) > countBefore, 'shared data outlives the snapshot and its VMs')
  const v1 = await version()
  writeFileSync(wasm.deny, Buffer.from('not wasm'))
  await eventually(async () => {
    const c = (await (await fetch(`${gw.admin}/config`)).json()) as any
    return JSON.stringify(c.last_error ?? '').includes('SY_CFG_WASM') || JSON.stringify(c.last_error ?? '').includes('not a valid WebAssembly module')
  }, undefined, 'the broken module reported')
  assert.equal(await version(), v1)
  assert.equal((await ask()).choices[0].message.content, 'HOWDY from A.')
})

test('examples/wasm-plugin as shipped: the guard refuses its word in the caller\'s protocol and tags answers', async () => {
  const dir = join(process.cwd(), 'examples', 'wasm-plugin')
  const { readFileSync } = await import('node:fs')
  const p = await freePort()
  const text = readFileSync(join(dir, 'switchyard.yaml'), 'utf8').replace('port: 8080', `port: ${p}`).replace('./guard.wasm', join(dir, 'guard.wasm'))
  const ex = await startGateway((admin) => `admin: { port: ${admin} }\n${text}`)
  try {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${p}/v1`, apiKey: 'unused', maxRetries: 0 })
    const ok = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }).withResponse()
    assert.equal(ok.response.headers.get('x-guarded-by'), 'prompt-guard')
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'say forbidden' }] }), (e: any) => {
      assert.equal(e.status, 400)
      assert.match(e.message, /request refused by plugin 'prompt-guard' \(blocked word\)/)
      return true
    })
    const claude = new Anthropic({ baseURL: `http://127.0.0.1:${p}`, apiKey: 'unused', maxRetries: 0 })
    await assert.rejects(claude.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'forbidden' }] }), (e: any) => e.status === 400 && e.error?.error?.type === 'invalid_request_error')
  } finally {
    assert.equal(await ex.stop(), 0, ex.output())
  }
})
