// End to end through the real gateway process: the official SDKs read translated streams and errors
// from provider mocks, each test's mock behind a cluster of its own (test/support/mocked-gateway.ts).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIMock } from '../../../support/mocks/openai-mock.js'
import { startAnthropicMock } from '../../../support/mocks/anthropic-mock.js'
import { startGeminiMock } from '../../../support/mocks/gemini-mock.js'
import { startBedrockMock } from '../../../support/mocks/bedrock-mock.js'
import type { MockOptions, ProviderMock } from '../../../support/mocks/mock-server.js'
import { startMockedGateway, type MockedGateway } from '../../../support/mocked-gateway.js'
import type { UpstreamProtocol } from '../../../../src/protocols.js'

const weatherTool = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const upstreams = [
  ['anthropic', startAnthropicMock],
  ['gemini', startGeminiMock],
  ['bedrock', startBedrockMock],
] as const

const anthropicUpstreams = [
  ['openai', startOpenAIMock],
  ['gemini', startGeminiMock],
  ['bedrock', startBedrockMock],
] as const

type Start = (opts?: MockOptions) => Promise<ProviderMock>
/** Every test's mock: name → how to start it. A test finds its own by name. */
const wanted: Record<string, [UpstreamProtocol, Start, MockOptions?]> = {}
for (const [name, start] of upstreams) {
  wanted[`oa-stream-${name}`] = [name, start, { reply: 'Héllo wörld ✓', fragmentWrites: true }]
  wanted[`oa-tools-${name}`] = [name, start, { toolArguments: { city: 'Paris' } }]
  wanted[`oa-limited-${name}`] = [name, start]
}
for (const [name, start] of anthropicUpstreams) {
  wanted[`an-stream-${name}`] = [name, start, { reply: 'Ciao ✓', toolArguments: { city: 'Rome' }, fragmentWrites: true }]
  wanted[`an-context-${name}`] = [name, start]
}
wanted.refusing = ['gemini', startGeminiMock]

const mocks: Record<string, ProviderMock> = {}
let gw: MockedGateway

before(async () => {
  for (const [id, [, start, opts]] of Object.entries(wanted)) mocks[id] = await start(opts)
  gw = await startMockedGateway(Object.fromEntries(Object.entries(wanted).map(([id, [provider]]) => [id, { provider, url: mocks[id]!.url }])))
})

after(async () => {
  await gw?.close()
  for (const m of Object.values(mocks)) await m.close()
})

const openai = (id: string) => new OpenAI({ apiKey: 'caller', baseURL: `${gw.url}/v1`, defaultHeaders: gw.headers(id), maxRetries: 0 })
const anthropic = (id: string) => new Anthropic({ apiKey: 'caller', baseURL: gw.url, defaultHeaders: gw.headers(id), maxRetries: 0 })

for (const [name] of upstreams) {
  test(`the openai SDK streams text and usage from ${name} through the translator`, async () => {
    const client = openai(`oa-stream-${name}`)
    const stream = await client.chat.completions.create({ model: 'alias', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage
    for await (const c of stream) {
      assert.equal(c.model, 'alias')
      text += c.choices[0]?.delta.content ?? ''
      if (c.usage) usage = c.usage
    }
    assert.equal(text, 'Héllo wörld ✓')
    assert.ok(usage!.prompt_tokens > 0 && usage!.completion_tokens > 0)
  })

  test(`the openai SDK assembles a tool call from ${name} through the translator`, async () => {
    const client = openai(`oa-tools-${name}`)
    const final = await client.chat.completions.stream({ model: 'alias', messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool], tool_choice: 'required' }).finalChatCompletion()
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls')
    const call = final.choices[0]!.message.tool_calls![0]!
    assert.ok(call.type === 'function')
    assert.equal(call.function.name, 'get_weather')
    assert.deepStrictEqual(JSON.parse(call.function.arguments), { city: 'Paris' })
    const plain = await client.chat.completions.create({ model: 'alias', messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool] })
    assert.deepStrictEqual(plain.choices[0]!.message.tool_calls!.map((c) => c.type === 'function' && c.function.name), ['get_weather'])
  })

  test(`the openai SDK sees a 429 with retry-after when ${name} is rate limited`, async () => {
    mocks[`oa-limited-${name}`]!.failNext({ kind: 'rate_limit', retryAfterSeconds: 3 })
    const client = openai(`oa-limited-${name}`)
    await assert.rejects(
      client.chat.completions.create({ model: 'alias', messages: [{ role: 'user', content: 'x' }] }),
      (e: any) => e.status === 429 && e.headers.get('retry-after') === '3' && e.error.type === 'rate_limit_error',
    )
  })
}

for (const [name] of anthropicUpstreams) {
  test(`the Anthropic SDK streams a message and a tool call from ${name} through the translator`, async () => {
    const client = anthropic(`an-stream-${name}`)
    const msg = await client.messages.stream({ model: 'alias', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).finalMessage()
    assert.deepStrictEqual(msg.content, [{ type: 'text', text: 'Ciao ✓' }])
    assert.equal(msg.stop_reason, 'end_turn')
    assert.ok(msg.usage.output_tokens > 0 && msg.usage.input_tokens > 0)
    const tool = await client.messages.stream({
      model: 'alias', max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    }).finalMessage()
    assert.equal(tool.stop_reason, 'tool_use')
    assert.deepStrictEqual((tool.content.at(-1) as { input: unknown }).input, { city: 'Rome' })
  })

  test(`the Anthropic SDK sees a context-length 400 from ${name} as invalid_request_error`, async () => {
    mocks[`an-context-${name}`]!.failNext({ kind: 'context_length' })
    const client = anthropic(`an-context-${name}`)
    await assert.rejects(
      client.messages.create({ model: 'alias', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e: any) => e.status === 400 && e.error.error.type === 'invalid_request_error',
    )
  })
}

test('a request the upstream cannot express is refused with a 400 in the caller protocol', async () => {
  const mock = mocks.refusing!
  const client = openai('refusing')
  await assert.rejects(
    client.chat.completions.create({ model: 'g', n: 2, messages: [{ role: 'user', content: 'x' }] }),
    (e: any) => e.status === 400 && e.param === 'n',
  )
  assert.equal(mock.requests.length, 0)
})
