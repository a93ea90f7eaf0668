/**
 * Issue 12 (A): the OpenAI Responses API is a first-class front door, end to end — a real gateway
 * process, the official `openai` SDK, and upstreams that speak the wire formats exactly.
 *
 * To an OpenAI-format cluster the bytes pass through, and a stream is judged by the Responses API's
 * own end (`response.completed` / `response.failed` / …), not by chat-completions' `[DONE]`; its
 * opening is held so a failure right after `response.created` still fails over invisibly; stored
 * responses are forwarded. To an Anthropic cluster the request is translated, and what cannot be
 * (a built-in tool) is a 400 naming the parameter.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startGateway, eventually, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'
import { startScriptedUpstream, type ScriptedUpstream, type SeenRequest } from '../support/scripted-upstream.js'
import { ResponsesEvents, cut, functionCallItem, messageItem, responseObject, sendJsonBody, sendSseHead, writePaced } from '../support/wire-formats.js'

let oa: ScriptedUpstream
let oa2: ScriptedUpstream
let anth: ProviderMock
let gw: GatewayProcess
let base: string

before(async () => {
  oa = await startScriptedUpstream()
  oa2 = await startScriptedUpstream()
  anth = await startAnthropicMock({ apiKey: 'sk-ant', reply: 'Hello from Anthropic.', chunks: 3, delayMs: 2, toolArguments: { city: 'Paris' } })
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - name: to-anthropic
        match: { headers: [{ name: x-to, exact: anthropic }] }
        cluster: claude
      - name: failover
        match: { headers: [{ name: x-to, exact: failover }] }
        fallback: { clusters: [{ cluster: oa }, { cluster: oa2 }] }
      - name: healthy
        match: { headers: [{ name: x-to, exact: healthy }] }
        cluster: healthy
      - name: pass
        match: { path: { prefix: /v1/ } }
        cluster: oa
clusters:
  - { name: oa, provider: openai, endpoints: [{ url: "${oa.url}/v1", api_key: sk-oa }] }
  - { name: oa2, provider: openai, endpoints: [{ url: "${oa2.url}/v1", api_key: sk-oa2 }] }
  - { name: healthy, provider: openai, endpoints: [{ url: "${oa.url}/v1", api_key: sk-oa }] }
  - { name: claude, provider: anthropic, endpoints: [{ url: "${anth.url}/v1", api_key: sk-ant }] }
`, { env: { SWITCHYARD_ACCESS_LOG: '1' } })
  base = `http://127.0.0.1:${port}/v1`
})

after(async () => {
  const code = await gw?.stop()
  await oa?.close()
  await oa2?.close()
  await anth?.close()
  assert.equal(code, 0, gw?.output())
})

const client = (to?: string, requestId?: string) =>
  new OpenAI({ baseURL: base, apiKey: 'caller-key', maxRetries: 0, defaultHeaders: { ...(to && { 'x-to': to }), ...(requestId && { 'x-request-id': requestId }) } })

const bodyOf = (r: SeenRequest) => JSON.parse(r.body)

/** The text of a response's message items (the SDK adds `output_text` to create() answers, not to finalResponse()). */
const textOf = (r: OpenAI.Responses.Response) =>
  r.output.flatMap((o) => (o.type === 'message' ? o.content.map((c) => (c.type === 'output_text' ? c.text : '')) : [])).join('')

/** The gateway's access-log line for one request (logged when the answer is complete). */
async function accessLine(requestId: string): Promise<string> {
  let line: string | undefined
  await eventually(() => (line = gw.output().split('\n').find((l) => l.includes(' access ') && l.includes(`request_id=${requestId}`))) !== undefined, undefined, `the access log line of ${requestId}`)
  return line!
}

/** A whole text answer as the Responses API streams it. */
function textStream(id: string, pieces: string[]): ResponsesEvents {
  const ev = new ResponsesEvents({ id, model: 'gpt-4.1-2025-04-14', usage: { input_tokens: 21, output_tokens: 13 } })
  return ev.opening().message(0, `msg_${id}`, pieces).completed([messageItem(`msg_${id}`, pieces.join(''))])
}

/** Answers each POST /v1/responses with this stream, paced. */
function streams(up: ScriptedUpstream, events: () => ResponsesEvents): void {
  up.answer = (_req, res) => {
    sendSseHead(res)
    void writePaced(res, events().frames).then(() => res.end())
  }
}

test('non-stream: the response object passes through whole, and its usage is accounted', async () => {
  const upstreamBody = responseObject({ id: 'resp_plain', model: 'gpt-4.1-2025-04-14', output: [messageItem('msg_plain', 'Hello from the Responses API.')], usage: { input_tokens: 17, output_tokens: 5 } })
  oa.answer = (_req, res) => sendJsonBody(res, 200, upstreamBody)
  const { data, response } = await client(undefined, 'rq-nonstream').responses.create({ model: 'gpt-4.1', input: 'Say hello.' }).withResponse()
  assert.equal(data.output_text, 'Hello from the Responses API.')
  assert.equal(data.id, 'resp_plain')
  assert.equal(response.headers.get('x-switchyard-cluster'), 'oa')
  const seen = oa.requests.at(-1)!
  assert.equal(seen.method, 'POST')
  assert.equal(seen.url, '/v1/responses')
  assert.equal(seen.headers.authorization, 'Bearer sk-oa', "the cluster's key goes upstream, not the caller's")
  assert.deepEqual(bodyOf(seen), { model: 'gpt-4.1', input: 'Say hello.' })
  // Byte for byte what the upstream said.
  const raw = await fetch(`${base}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', input: 'Say hello.' }) })
  assert.equal(raw.status, 200)
  assert.equal(await raw.text(), JSON.stringify(upstreamBody))
  // Usage is the Responses API's `usage` (input_tokens / output_tokens), not read as chat's prompt_tokens.
  const line = await accessLine('rq-nonstream')
  assert.match(line, /input_tokens=17 output_tokens=5/, line)
})

test('non-stream: a 200 that is not a complete response object is never passed off as an answer', async () => {
  oa.answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"id":"resp_cut","object":"response","status":"completed","outp')
  }
  const e = await client().responses.create({ model: 'gpt-4.1', input: 'hi' }).catch((x) => x)
  assert.ok(e instanceof OpenAI.APIError, String(e))
  assert.equal(e.status, 502)
  // A complete JSON document without "output" is not a Responses answer either.
  oa.answer = (_req, res) => sendJsonBody(res, 200, { id: 'resp_x', object: 'response', status: 'completed' })
  const e2 = await client().responses.create({ model: 'gpt-4.1', input: 'hi' }).catch((x) => x)
  assert.ok(e2 instanceof OpenAI.APIError, String(e2))
  assert.equal(e2.status, 502)
})

test('stream: the events pass through untouched, end at response.completed, no error event appended', async () => {
  const pieces = ['The ', 'answer ', 'is ', '42.']
  streams(oa, () => textStream('resp_stream', pieces))
  const s = await client(undefined, 'rq-stream').responses.create({ model: 'gpt-4.1', input: 'What is the answer?', stream: true })
  const types: string[] = []
  let text = ''
  let completed: any
  for await (const ev of s) {
    types.push(ev.type)
    if (ev.type === 'response.output_text.delta') text += ev.delta
    if (ev.type === 'response.completed') completed = ev.response
  }
  assert.deepEqual(types, textStream('resp_stream', pieces).frames.map((f) => /^event: (\S+)/.exec(f)![1]), 'the client saw other events than the upstream sent')
  assert.equal(text, 'The answer is 42.')
  assert.equal(completed.status, 'completed')
  assert.equal(completed.output[0].content[0].text, 'The answer is 42.')
  assert.equal(bodyOf(oa.requests.at(-1)!).stream, true)
  // The raw stream is byte for byte the upstream's: no `[DONE]` expected, no error event added.
  const raw = await fetch(`${base}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', input: 'x', stream: true }) })
  assert.equal(raw.headers.get('content-type')?.startsWith('text/event-stream'), true)
  assert.equal(await raw.text(), textStream('resp_stream', pieces).body())
  const line = await accessLine('rq-stream')
  assert.match(line, /status=200/, line)
  assert.match(line, /input_tokens=21 output_tokens=13/, `usage comes from response.usage: ${line}`)
})

test('stream: responses.stream().finalResponse() resolves with the completed response', async () => {
  streams(oa, () => textStream('resp_final', ['Streaming ', 'through ', 'the gateway.']))
  const stream = client().responses.stream({ model: 'gpt-4.1', input: 'Stream something.' })
  const deltas: string[] = []
  stream.on('response.output_text.delta', (e) => deltas.push(e.delta))
  const final = await stream.finalResponse()
  assert.equal(final.id, 'resp_final')
  assert.equal(final.status, 'completed')
  assert.equal(textOf(final), 'Streaming through the gateway.')
  assert.deepEqual(deltas, ['Streaming ', 'through ', 'the gateway.'])
  assert.equal(final.usage?.output_tokens, 13)
})

test('stream: a function tool call round trip passes through', async () => {
  const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', strict: true, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }]
  const args = '{"city":"Paris"}'
  streams(oa, () => {
    const ev = new ResponsesEvents({ id: 'resp_tool', model: 'gpt-4.1', tools })
    return ev.opening().functionCall(0, 'fc_1', 'call_abc', 'get_weather', ['{"city":', '"Paris"}']).completed([functionCallItem('fc_1', 'call_abc', 'get_weather', args)])
  })
  const first = await client().responses.stream({ model: 'gpt-4.1', input: [{ role: 'user', content: 'Weather in Paris?' }], tools }).finalResponse()
  const call = first.output[0]
  assert.equal(call.type, 'function_call')
  assert.ok(call.type === 'function_call')
  assert.equal(call.name, 'get_weather')
  assert.equal(call.call_id, 'call_abc')
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' })
  assert.deepEqual(bodyOf(oa.requests.at(-1)!).tools, tools)

  // The caller runs the tool and sends the result back.
  streams(oa, () => textStream('resp_tool2', ['It is ', 'sunny in Paris.']))
  const input: OpenAI.Responses.ResponseInput = [
    { role: 'user', content: 'Weather in Paris?' },
    { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
    { type: 'function_call_output', call_id: call.call_id, output: '{"sky":"sunny"}' },
  ]
  const second = await client().responses.stream({ model: 'gpt-4.1', input, tools }).finalResponse()
  assert.equal(textOf(second), 'It is sunny in Paris.')
  const sent = bodyOf(oa.requests.at(-1)!)
  assert.deepEqual(sent.input, input, 'the function call and its output reach the upstream as the caller sent them')
})

test('stream: an upstream that ends with response.failed reaches the client as the provider said', async () => {
  const failing = () => new ResponsesEvents({ id: 'resp_failed', model: 'gpt-4.1' }).opening().add('response.output_item.added', { output_index: 0, item: { id: 'msg_f', type: 'message', status: 'in_progress', role: 'assistant', content: [] } })
    .add('response.content_part.added', { item_id: 'msg_f', output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } })
    .add('response.output_text.delta', { item_id: 'msg_f', output_index: 0, content_index: 0, delta: 'Partial ', logprobs: [] })
    .failed('server_error', 'The model failed to finish.')
  streams(oa, failing)
  // The SDK yields response.failed as an ordinary event (it throws only on `error` objects).
  const s = await client().responses.create({ model: 'gpt-4.1', input: 'hi', stream: true })
  const events: OpenAI.Responses.ResponseStreamEvent[] = []
  for await (const ev of s) events.push(ev)
  assert.deepEqual(events.map((e) => e.type), failing().frames.map((f) => /^event: (\S+)/.exec(f)![1]))
  const last = events.at(-1)!
  assert.equal(last.type, 'response.failed')
  assert.ok(last.type === 'response.failed')
  assert.equal(last.response.status, 'failed')
  assert.deepEqual(last.response.error, { code: 'server_error', message: 'The model failed to finish.' })
  // Nothing added: the provider's own verdict is the end of the stream.
  const raw = await fetch(`${base}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', input: 'x', stream: true }) })
  assert.equal(await raw.text(), failing().body())
})

test('stream: an upstream that closes before its terminal event ends with an error the SDK raises', async () => {
  const cases = [
    ['Half an ', 'answer, then'],
    // The answer's text talks about the Responses API itself: words are not events.
    ['Wait for the response.completed event, ', 'or response.failed, then an event: error line'],
  ]
  for (const pieces of cases) {
    oa.answer = (_req, res) => {
      sendSseHead(res)
      const ev = new ResponsesEvents({ id: 'resp_trunc', model: 'gpt-4.1' }).opening().add('response.output_item.added', { output_index: 0, item: { id: 'msg_t', type: 'message', status: 'in_progress', role: 'assistant', content: [] } })
      for (const delta of pieces) ev.add('response.output_text.delta', { item_id: 'msg_t', output_index: 0, content_index: 0, delta, logprobs: [] })
      void writePaced(res, ev.frames).then(() => res.end())
    }
    const s = await client().responses.create({ model: 'gpt-4.1', input: 'How do I read a Responses stream?', stream: true })
    let text = ''
    const err = await (async () => {
      for await (const ev of s) if (ev.type === 'response.output_text.delta') text += ev.delta
    })().then(() => undefined, (e) => e)
    assert.equal(text, pieces.join(''))
    assert.ok(err instanceof OpenAI.APIError, `the truncated stream ${JSON.stringify(pieces)} ended as if it were complete (${err})`)
    assert.match(err.message, /end marker/)
  }
})

test('stream: a failure right after response.created on a fallback route fails over invisibly', async () => {
  oa.answer = (_req, res) => {
    sendSseHead(res)
    const ev = new ResponsesEvents({ id: 'resp_dies', model: 'gpt-4.1' }).opening()
    void writePaced(res, ev.frames, 20).then(() => cut(res))
  }
  streams(oa2, () => textStream('resp_fallback', ['Hello from ', 'the fallback.']))
  const before = oa2.requests.length
  const { data: s, response } = await client('failover').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true }).withResponse()
  const events: OpenAI.Responses.ResponseStreamEvent[] = []
  for await (const ev of s) events.push(ev)
  assert.equal(response.headers.get('x-switchyard-cluster'), 'oa2')
  assert.equal(oa2.requests.length, before + 1)
  const created = events.filter((e) => e.type === 'response.created')
  assert.equal(created.length, 1, 'the client saw the broken attempt\'s opening')
  assert.ok(created[0].type === 'response.created')
  assert.equal(created[0].response.id, 'resp_fallback')
  assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i), 'one stream, one sequence')
  assert.equal(events.at(-1)!.type, 'response.completed')
  assert.equal(events.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as { delta: string }).delta).join(''), 'Hello from the fallback.')

  // Through responses.stream() too: the final response is the fallback's alone.
  const final = await client('failover').responses.stream({ model: 'gpt-4.1', input: 'hi' }).finalResponse()
  assert.equal(final.id, 'resp_fallback')
  assert.equal(textOf(final), 'Hello from the fallback.')
})

test('stored responses: GET, DELETE and input_items are forwarded to the OpenAI-format upstream', async () => {
  const stored = responseObject({ id: 'resp_stored1', model: 'gpt-4.1', output: [messageItem('msg_s', 'Stored answer.')] })
  oa.answer = (req, res) => {
    if (req.method === 'GET' && req.url === '/v1/responses/resp_stored1') return sendJsonBody(res, 200, stored)
    if (req.method === 'GET' && req.url.startsWith('/v1/responses/resp_stored1/input_items')) {
      return sendJsonBody(res, 200, { object: 'list', data: [{ id: 'msg_in1', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Say something.' }] }], first_id: 'msg_in1', last_id: 'msg_in1', has_more: false })
    }
    if (req.method === 'DELETE' && req.url === '/v1/responses/resp_stored1') return sendJsonBody(res, 200, { id: 'resp_stored1', object: 'response', deleted: true })
    sendJsonBody(res, 404, { error: { message: `No response found: ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: null } })
  }
  const c = client()
  const got = await c.responses.retrieve('resp_stored1')
  assert.equal(got.id, 'resp_stored1')
  assert.equal(got.output_text, 'Stored answer.')
  assert.equal(oa.requests.at(-1)!.headers.authorization, 'Bearer sk-oa')

  const items: OpenAI.Responses.ResponseItem[] = []
  for await (const item of c.responses.inputItems.list('resp_stored1')) items.push(item)
  assert.equal(items.length, 1)
  assert.equal(items[0].id, 'msg_in1')
  assert.match(oa.requests.at(-1)!.url, /^\/v1\/responses\/resp_stored1\/input_items/)

  await c.responses.delete('resp_stored1')
  assert.equal(oa.requests.at(-1)!.method, 'DELETE')
  assert.equal(oa.requests.at(-1)!.url, '/v1/responses/resp_stored1')

  // The upstream's own 404 for an unknown id is the caller's.
  const missing = await c.responses.retrieve('resp_nope').catch((e) => e)
  assert.ok(missing instanceof OpenAI.NotFoundError, String(missing))
})

test('stored responses on a non-OpenAI cluster answer an OpenAI error, never reaching the upstream', async () => {
  const before = anth.requests.length
  const e = await client('anthropic').responses.retrieve('resp_stored1').catch((x) => x)
  assert.ok(e instanceof OpenAI.APIError, String(e))
  assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`)
  assert.match(e.message, /stored responses exist only on OpenAI-format upstreams/)
  const d = await client('anthropic').responses.delete('resp_stored1').catch((x) => x)
  assert.ok(d instanceof OpenAI.APIError, String(d))
  assert.equal(anth.requests.length, before)
})

test('translated to Anthropic: non-stream and stream', async () => {
  const c = client('anthropic')
  const r = await c.responses.create({ model: 'claude-sonnet-4-5', instructions: 'Be brief.', input: 'Say hello.', max_output_tokens: 64 })
  assert.equal(r.object, 'response')
  assert.equal(r.status, 'completed')
  assert.equal(r.output_text, 'Hello from Anthropic.')
  assert.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0)
  const sent = anth.requests.at(-1)!
  assert.equal(sent.url, '/v1/messages')
  assert.equal(sent.headers['x-api-key'], 'sk-ant')
  assert.equal(sent.json.max_tokens, 64)
  assert.equal(sent.json.stream, undefined)
  assert.deepEqual(sent.json.messages, [{ role: 'user', content: [{ type: 'text', text: 'Say hello.' }] }])
  assert.match(JSON.stringify(sent.json.system), /Be brief\./)

  const stream = c.responses.stream({ model: 'claude-sonnet-4-5', input: 'Say hello.' })
  const types: string[] = []
  const seqs: number[] = []
  stream.on('event', (e) => { types.push(e.type); seqs.push(e.sequence_number) })
  const final = await stream.finalResponse()
  assert.equal(final.status, 'completed')
  assert.equal(textOf(final), 'Hello from Anthropic.')
  assert.equal(anth.requests.at(-1)!.json.stream, true)
  assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress'])
  assert.equal(types.at(-1), 'response.completed')
  assert.ok(types.includes('response.output_text.delta'))
  assert.deepEqual(seqs, seqs.map((_, i) => i))
})

test('translated to Anthropic: a function tool call round trip, streamed and not', async () => {
  const c = client('anthropic')
  const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }]
  for (const streamed of [false, true]) {
    const first = streamed
      ? await c.responses.stream({ model: 'claude-sonnet-4-5', input: 'Weather in Paris?', tools }).finalResponse()
      : await c.responses.create({ model: 'claude-sonnet-4-5', input: 'Weather in Paris?', tools })
    const call = first.output.find((o) => o.type === 'function_call')
    assert.ok(call && call.type === 'function_call', `${streamed ? 'stream' : 'json'}: ${JSON.stringify(first.output)}`)
    assert.equal(call.name, 'get_weather')
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' })
    assert.match(call.call_id, /^toolu_/)
    const offered = anth.requests.at(-1)!.json.tools
    assert.deepEqual(offered.map((t: any) => t.name), ['get_weather'])
    assert.deepEqual(offered[0].input_schema.properties, { city: { type: 'string' } })

    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'Weather in Paris?' },
      { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
    ]
    const second = streamed
      ? await c.responses.stream({ model: 'claude-sonnet-4-5', input, tools }).finalResponse()
      : await c.responses.create({ model: 'claude-sonnet-4-5', input, tools })
    assert.equal(textOf(second), 'Hello from Anthropic.')
    const msgs = anth.requests.at(-1)!.json.messages
    assert.equal(msgs.length, 3)
    assert.deepEqual(msgs[1].content.find((b: any) => b.type === 'tool_use'), { type: 'tool_use', id: call.call_id, name: 'get_weather', input: { city: 'Paris' } })
    const result = msgs[2].content.find((b: any) => b.type === 'tool_result')
    assert.equal(result.tool_use_id, call.call_id)
    assert.match(JSON.stringify(result.content), /sunny/)
  }
})

test('translated to Anthropic: a built-in tool is a 400 naming the parameter, nothing sent upstream', async () => {
  const before = anth.requests.length
  const e = await client('anthropic').responses.create({ model: 'claude-sonnet-4-5', input: 'Search the news.', tools: [{ type: 'web_search' }] }).catch((x) => x)
  assert.ok(e instanceof OpenAI.BadRequestError, String(e))
  assert.equal(e.status, 400)
  assert.equal(e.param, 'tools[0]')
  assert.match(e.message, /web_search/)
  // Streamed, the same refusal (before any stream starts).
  const s = await client('anthropic').responses.create({ model: 'claude-sonnet-4-5', input: 'Search.', tools: [{ type: 'web_search' }], stream: true }).catch((x) => x)
  assert.ok(s instanceof OpenAI.BadRequestError, String(s))
  assert.equal(s.param, 'tools[0]')
  assert.equal(anth.requests.length, before)
})

test('/clusters records no failure for a healthy pass-through endpoint after streamed calls', async () => {
  streams(oa, () => textStream('resp_healthy', ['All ', 'good.']))
  const c = client('healthy')
  for (let i = 0; i < 3; i++) {
    const final = await c.responses.stream({ model: 'gpt-4.1', input: 'hi' }).finalResponse()
    assert.equal(textOf(final), 'All good.')
  }
  const s = await c.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true })
  for await (const _ of s) { /* drain */ }
  let ep: any
  await eventually(async () => {
    ep = (await (await fetch(`${gw.admin}/clusters`)).json()).healthy.endpoints[0]
    return ep.requests >= 4
  }, undefined, 'the four requests to be counted')
  assert.equal(ep.failures, 0, `a complete Responses stream counted as a failure: ${JSON.stringify(ep)}`)
})
