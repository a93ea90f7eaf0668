// End to end through the real gateway process: the official openai SDK's `client.responses` reads
// what the Responses translator makes of Anthropic, Gemini and Bedrock upstreams, each test's mock
// behind a cluster of its own (test/support/mocked-gateway.ts).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startAnthropicMock } from '../../../support/mocks/anthropic-mock.js'
import { startGeminiMock } from '../../../support/mocks/gemini-mock.js'
import { startBedrockMock } from '../../../support/mocks/bedrock-mock.js'
import type { MockOptions, ProviderMock } from '../../../support/mocks/mock-server.js'
import { startMockedGateway, type MockedGateway } from '../../../support/mocked-gateway.js'
import { receive, startHttpServer } from '../../../support/http-server.js'
import type { UpstreamProtocol } from '../../../../src/protocols.js'

const weather = {
  type: 'function' as const, name: 'get_weather', description: 'Weather in a city', strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}
// No OpenAI upstream: the gateway forwards /v1/responses to an OpenAI-format upstream untouched
// (it serves the Responses API itself); test/regressions/issue-12-responses-api.test.ts covers that path.
const upstreams = [
  ['anthropic', startAnthropicMock],
  ['gemini', startGeminiMock],
  ['bedrock', startBedrockMock],
] as const

type Start = (opts?: MockOptions) => Promise<ProviderMock>
/** Every test's mock: name → how to start it. A test finds its own by name (setup). */
const wanted: Record<string, [UpstreamProtocol, Start, MockOptions?]> = {}
for (const [name, start] of upstreams) {
  wanted[`whole-${name}`] = [name, start, { reply: 'Héllo wörld ✓' }]
  wanted[`stream-${name}`] = [name, start, { reply: 'Ciao ✓ mondo', fragmentWrites: true }]
  wanted[`tools-${name}`] = [name, start, { reply: 'It is sunny in Paris.', toolArguments: { city: 'Paris' } }]
  wanted[`limited-${name}`] = [name, start]
  wanted[`midstream-${name}`] = [name, start, { reply: 'a b c d e f', chunks: 3 }]
}
wanted.refusing = [upstreams[0][0], upstreams[0][1]]

const mocks: Record<string, ProviderMock> = {}
let thinking: { url: string; close(): Promise<void> }
let gw: MockedGateway

before(async () => {
  for (const [id, [, start, opts]] of Object.entries(wanted)) mocks[id] = await start(opts)
  thinking = await startThinkingUpstream()
  gw = await startMockedGateway({
    ...Object.fromEntries(Object.entries(wanted).map(([id, [provider]]) => [id, { provider, url: mocks[id]!.url }])),
    thinking: { provider: 'anthropic', url: thinking.url },
  })
})

after(async () => {
  await gw?.close()
  for (const m of Object.values(mocks)) await m.close()
  await thinking?.close()
})

const client = (id: string) => new OpenAI({ apiKey: 'caller', baseURL: `${gw.url}/v1`, defaultHeaders: gw.headers(id), maxRetries: 0 })
const setup = (id: string) => ({ mock: mocks[id]!, client: client(id) })

for (const up of upstreams) {
  const name = up[0]

  test(`responses.create reads a whole answer from ${name}`, async () => {
    const { client } = setup(`whole-${name}`)
    const r = await client.responses.create({ model: 'alias', instructions: 'be brief', input: 'hi', max_output_tokens: 50 })
    assert.equal(r.object, 'response')
    assert.equal(r.status, 'completed')
    assert.equal(r.model, 'alias')
    assert.equal(r.output_text, 'Héllo wörld ✓')
    assert.ok(r.usage!.input_tokens > 0 && r.usage!.output_tokens > 0)
    assert.equal(r.usage!.total_tokens, r.usage!.input_tokens + r.usage!.output_tokens)
    assert.equal(r.instructions, 'be brief')
    assert.equal(r.max_output_tokens, 50)
  })

  test(`responses.create({ stream: true }) yields typed events from ${name}, ending in response.completed`, async () => {
    const { client } = setup(`stream-${name}`)
    const stream = await client.responses.create({ model: 'alias', input: [{ role: 'user', content: 'hi' }], stream: true })
    const types: string[] = []
    let text = ''
    let completed: OpenAI.Responses.Response | undefined
    for await (const ev of stream) {
      types.push(ev.type)
      if (ev.type === 'response.output_text.delta') text += ev.delta
      if (ev.type === 'response.completed') completed = ev.response
    }
    assert.equal(text, 'Ciao ✓ mondo')
    assert.deepStrictEqual(types.slice(0, 2), ['response.created', 'response.in_progress'])
    assert.equal(types.at(-1), 'response.completed')
    assert.equal(completed!.status, 'completed')
    assert.ok(completed!.usage!.output_tokens > 0)
  })

  test(`a tool call round trip through ${name}: the SDK assembles the call, its output goes back, the answer comes`, async () => {
    const { client, mock } = setup(`tools-${name}`)
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }]
    const first = await client.responses.stream({ model: 'alias', input, tools: [weather], tool_choice: 'required' }).finalResponse()
    const call = first.output.find((o) => o.type === 'function_call')
    assert.ok(call && call.type === 'function_call')
    assert.equal(call.name, 'get_weather')
    assert.deepStrictEqual(JSON.parse(call.arguments), { city: 'Paris' })
    assert.ok(call.call_id)
    // As the SDK docs do it: the whole output goes back as input, then the function's result.
    input.push(...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: '{"sky":"clear"}' })
    const second = await client.responses.create({ model: 'alias', input, tools: [weather] })
    assert.equal(second.output_text, 'It is sunny in Paris.')
    assert.equal(mock.requests.length, 2)
    // The upstream saw the call and its result, tied by the same id (Gemini ties them by name).
    const sent = mock.requests[1]!.body
    assert.ok(sent.includes(name === 'gemini' ? '"functionResponse":{"name":"get_weather"' : call.call_id), sent)
    assert.ok(sent.includes('clear'), sent)
  })

  test(`the SDK sees a 429 with retry-after when ${name} is rate limited`, async () => {
    const { client, mock } = setup(`limited-${name}`)
    mock.failNext({ kind: 'rate_limit', retryAfterSeconds: 3 })
    await assert.rejects(
      client.responses.create({ model: 'alias', input: 'x' }),
      (e: any) => e instanceof OpenAI.RateLimitError && e.headers.get('retry-after') === '3' && e.type === 'rate_limit_error',
    )
  })

  test(`a failure in the middle of a ${name} stream makes the SDK throw, after response.failed`, async () => {
    const { client, mock } = setup(`midstream-${name}`)
    mock.failNext({ kind: 'midstream' })
    const seen: string[] = []
    await assert.rejects(
      (async () => {
        for await (const ev of await client.responses.create({ model: 'alias', input: 'x', stream: true })) seen.push(ev.type)
      })(),
      (e: any) => e instanceof OpenAI.APIError && typeof e.message === 'string' && e.message.length > 0,
    )
    assert.equal(seen.at(-1), 'response.failed')
    mock.failNext({ kind: 'midstream' })
    await assert.rejects(client.responses.stream({ model: 'alias', input: 'x' }).finalResponse(), OpenAI.APIError)
  })
}

test('what no non-OpenAI upstream can do is a 400 in OpenAI error JSON, naming the parameter', async () => {
  const { client, mock } = setup('refusing')
  const cases: [Record<string, unknown>, string][] = [
    [{ previous_response_id: 'resp_123' }, 'previous_response_id'],
    [{ tools: [{ type: 'web_search' }] }, 'tools[0]'],
    [{ background: true }, 'background'],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }] }, 'input[0].content[0].file_id'],
  ]
  for (const [extra, param] of cases) {
    await assert.rejects(
      client.responses.create({ model: 'alias', input: 'x', ...extra } as never),
      (e: any) => e instanceof OpenAI.BadRequestError && e.param === param && e.type === 'invalid_request_error',
    )
  }
  assert.equal(mock.requests.length, 0)
})

/** An Anthropic upstream that thinks before it answers (the shared mock does not). */
async function startThinkingUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = await startHttpServer((req, res) => {
    receive(req, (r) => {
      const body = JSON.parse(r.body.toString('utf8'))
      const usage = { input_tokens: 12, output_tokens: 30, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 }
      const message = { id: 'msg_think', type: 'message', role: 'assistant', model: body.model, stop_reason: 'end_turn', stop_sequence: null, usage }
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ ...message, content: [{ type: 'thinking', thinking: 'The user greets me.', signature: 'sig' }, { type: 'text', text: 'Hello!' }] }))
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const ev = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
      ev('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } })
      ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } })
      ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'The user ' } })
      ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'greets me.' } })
      ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } })
      ev('content_block_stop', { index: 0 })
      ev('content_block_start', { index: 1, content_block: { type: 'text', text: '' } })
      ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hello!' } })
      ev('content_block_stop', { index: 1 })
      ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 30 } })
      ev('message_stop', {})
      res.end()
    })
  })
  return { url: server.origin, close: server.close }
}

test('Anthropic thinking reaches the SDK as a reasoning item with a summary, streamed and whole', async () => {
  const client = new OpenAI({ apiKey: 'caller', baseURL: `${gw.url}/v1`, defaultHeaders: gw.headers('thinking'), maxRetries: 0 })
  const params = { model: 'alias', input: 'hello', reasoning: { effort: 'medium' as const, summary: 'auto' as const } }

  const stream = client.responses.stream(params)
  let summary = ''
  stream.on('response.reasoning_summary_text.delta', (e) => (summary += e.delta))
  const final = await stream.finalResponse()
  assert.equal(summary, 'The user greets me.')
  assert.deepStrictEqual(final.output.map((o) => o.type), ['reasoning', 'message'])
  const rs = final.output[0]!
  assert.ok(rs.type === 'reasoning')
  assert.deepStrictEqual(rs.summary, [{ type: 'summary_text', text: 'The user greets me.' }])
  // The SDK sets output_text on create() results only, not on a stream's final response.
  assert.deepStrictEqual(final.output[1], { ...final.output[1], type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [], parsed: null }] })
  assert.deepStrictEqual(final.usage, { input_tokens: 16, input_tokens_details: { cached_tokens: 4 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 46 })
  assert.deepStrictEqual((await gw.dropped('thinking'))[0], ['reasoning.summary', 'reasoning.effort'])

  const whole = await client.responses.create(params)
  assert.deepStrictEqual(whole.output.map((o) => o.type), ['reasoning', 'message'])
  assert.equal(whole.output_text, 'Hello!')
  // The reasoning item goes back as input on the next turn and is left out upstream.
  const next = await client.responses.create({ model: 'alias', input: [{ role: 'user', content: 'hello' }, ...(whole.output as OpenAI.Responses.ResponseInputItem[]), { role: 'user', content: 'again' }] })
  assert.equal(next.output_text, 'Hello!')
})
