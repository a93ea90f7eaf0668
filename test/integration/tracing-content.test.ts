/**
 * Message content on spans, opt-in per rule (`tracing: { capture_content: true }`): a gateway
 * exports to the in-test OTLP receiver, the official openai and @anthropic-ai/sdk clients call it,
 * and the attempt span of a capturing rule carries `gen_ai.system_instructions`,
 * `gen_ai.input.messages` and `gen_ai.output.messages` (GenAI JSON) for a plain request and a
 * stream, from either caller and from the Responses API in the same shape; a rule without the opt-in exports none; a
 * configured secret value and an `sk-…` key in the prompt arrive redacted (and appear nowhere in
 * what was exported); an oversized prompt is cut to `max_content_bytes`; a stream that broke off
 * records its input but no output.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js'
import { freePort } from '../support/ports.js'
import { sseData, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'

let up: ScriptedUpstream
let anthropic: ProviderMock
let gw: GatewayProcess
let otlp: OtlpReceiver
let base: string

/** The scripted upstream's key: a configured secret (not credential-shaped, so only the config's list can catch it). */
const UPSTREAM_KEY = 'upstream-key-7c1d9e4b'
const CALLER_PASTED_KEY = 'sk-live-0123456789abcdefghijkl'
const NOT_CAPTURED = 'prompt-of-a-rule-that-does-not-capture'
const SYSTEM = 'You answer in one sentence.'
const REPLY = ['The answer ', 'is 42.']

before(async () => {
  up = await startScriptedUpstream()
  up.answer = (req, res) => {
    const body = JSON.parse(req.body)
    if (req.url.endsWith('/responses')) return answerResponses(body, res)
    if (req.url.endsWith('/embeddings')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ object: 'list', model: 'text-embedding-3-small', data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5] }], usage: { prompt_tokens: 4, total_tokens: 4 } }))
    }
    if (body.n === 2) return answerTwoChoices(body, res)
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o',
        choices: [{ index: 0, message: { role: 'assistant', content: REPLY.join('') }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      }))
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const chunk = (delta: object, finish: string | null = null) => sseData({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] })
    let out = chunk({ role: 'assistant', content: '' })
    for (const piece of REPLY) out += chunk({ content: piece })
    if (req.headers['x-case'] === 'truncate') {
      // Two pieces of text reach the caller, then the upstream closes without a finish or [DONE].
      res.write(out)
      return setTimeout(() => res.end(), 20)
    }
    out += chunk({}, 'stop') + sseData({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })
    res.end(out + 'data: [DONE]\n\n')
  }
  anthropic = await startAnthropicMock({ reply: REPLY.join(''), chunks: 2, delayMs: 5, apiKey: 'anthropic-test-key' })
  otlp = await startOtlpReceiver()
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
telemetry:
  tracing: { endpoint: "${otlp.url}", batch: { max_size: 64, interval: 50ms } }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - name: plain
        match: { model: { exact: gpt-plain } }
        cluster: scripted
      - name: openai-captured
        match: { model: { exact: gpt-4o } }
        cluster: scripted
        tracing: { capture_content: true, max_content_bytes: 2kb }
      - name: embeddings-captured
        match: { model: { exact: text-embedding-3-small } }
        cluster: scripted
        tracing: { capture_content: true }
      - name: claude-captured
        match: { model: { glob: "claude-*" } }
        cluster: anthropic-up
        tracing: { capture_content: true }
clusters:
  - { name: scripted, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: ${UPSTREAM_KEY} }] }
  - { name: anthropic-up, provider: anthropic, endpoints: [{ url: "${anthropic.url}/v1", api_key: anthropic-test-key }] }
`)
  base = `http://127.0.0.1:${port}`
})

/** An OpenAI upstream's Responses API answer (pass-through), whole or as its event stream. */
function answerResponses(body: any, res: import('node:http').ServerResponse): void {
  const text = REPLY.join('')
  const item = (status: string, t: string) => ({ type: 'message', id: 'msg_1', role: 'assistant', status, content: t === '' ? [] : [{ type: 'output_text', text: t, annotations: [] }] })
  const response = (status: string, output: object[]) => ({ id: 'resp_1', object: 'response', created_at: 1, status, model: 'gpt-4o', output, usage: status === 'completed' ? { input_tokens: 5, output_tokens: 3, total_tokens: 8 } : null })
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' })
    return void res.end(JSON.stringify(response('completed', [item('completed', text)])))
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  let seq = 0
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
  let out = ev('response.created', { response: response('in_progress', []) }) + ev('response.in_progress', { response: response('in_progress', []) })
  out += ev('response.output_item.added', { output_index: 0, item: item('in_progress', '') })
  out += ev('response.content_part.added', { item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })
  for (const piece of REPLY) out += ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: piece })
  out += ev('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text })
  out += ev('response.content_part.done', { item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } })
  out += ev('response.output_item.done', { output_index: 0, item: item('completed', text) })
  res.end(out + ev('response.completed', { response: response('completed', [item('completed', text)]) }))
}

/** `n: 2`: the second choice says the reply backwards; streamed, the two choices interleave. */
const SECOND = 'Backwards: 24 si rewsna ehT'
function answerTwoChoices(body: any, res: import('node:http').ServerResponse): void {
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' })
    return void res.end(JSON.stringify({
      id: 'chatcmpl-n', object: 'chat.completion', created: 1, model: 'gpt-4o',
      choices: [
        { index: 0, message: { role: 'assistant', content: REPLY.join('') }, finish_reason: 'stop' },
        { index: 1, message: { role: 'assistant', content: SECOND }, finish_reason: 'length' },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    }))
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  const chunk = (choices: object[]) => sseData({ id: 'chatcmpl-n2', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices })
  let out = chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }, { index: 1, delta: { role: 'assistant', content: '' }, finish_reason: null }])
  out += chunk([{ index: 1, delta: { content: SECOND.slice(0, 10) }, finish_reason: null }])
  for (const piece of REPLY) out += chunk([{ index: 0, delta: { content: piece }, finish_reason: null }])
  out += chunk([{ index: 1, delta: { content: SECOND.slice(10) }, finish_reason: null }, { index: 0, delta: {}, finish_reason: 'stop' }])
  out += chunk([{ index: 1, delta: {}, finish_reason: 'length' }])
  res.end(out + 'data: [DONE]\n\n')
}

after(async () => {
  const code = await gw?.stop()
  await Promise.all([up?.close(), anthropic?.close(), otlp?.close()])
  assert.equal(code, 0, gw?.output())
})

const openai = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'caller-key', maxRetries: 0 })
const claude = () => new Anthropic({ baseURL: base, apiKey: 'caller-key', maxRetries: 0 })

/** The client span of this request id, once it arrived. */
async function attemptOf(requestId: string): Promise<ReceivedSpan> {
  const find = (all: ReceivedSpan[]) => all.find((s) => s.kind === 2 && s.attributes['switchyard.request_id'] === requestId)
  const all = await otlp.waitFor((s) => {
    const server = find(s)
    return server !== undefined && s.some((c) => c.parentSpanId === server.spanId)
  }, 10_000, `the trace of ${requestId}`)
  const server = find(all)!
  assert.equal(server.attributes['gen_ai.input.messages'], undefined, 'content is on the client span only')
  return all.find((s) => s.parentSpanId === server.spanId)!
}

const json = (s: ReceivedSpan, key: string): any => {
  const v = s.attributes[key]
  return v === undefined ? undefined : JSON.parse(String(v))
}

const OUTPUT = [{ role: 'assistant', parts: [{ type: 'text', content: REPLY.join('') }], finish_reason: 'stop' }]

test('a capturing rule: system instructions, input and output messages for a plain request and a stream (OpenAI caller)', async () => {
  const messages = [{ role: 'system' as const, content: SYSTEM }, { role: 'user' as const, content: 'What is the answer?' }]
  const r = await openai().chat.completions.create({ model: 'gpt-4o', messages }, { headers: { 'x-request-id': 'oa-json' } })
  assert.equal(r.choices[0].message.content, REPLY.join(''))
  const a = await attemptOf('oa-json')
  assert.deepEqual(json(a, 'gen_ai.system_instructions'), [{ type: 'text', content: SYSTEM }])
  assert.deepEqual(json(a, 'gen_ai.input.messages'), [{ role: 'user', parts: [{ type: 'text', content: 'What is the answer?' }] }])
  assert.deepEqual(json(a, 'gen_ai.output.messages'), OUTPUT)

  const stream = await openai().chat.completions.create({ model: 'gpt-4o', stream: true, messages }, { headers: { 'x-request-id': 'oa-sse' } })
  let text = ''
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
  assert.equal(text, REPLY.join(''))
  const s = await attemptOf('oa-sse')
  assert.deepEqual(json(s, 'gen_ai.input.messages'), json(a, 'gen_ai.input.messages'))
  assert.deepEqual(json(s, 'gen_ai.output.messages'), OUTPUT, 'assembled from the stream')
})

test('an Anthropic caller (official SDK) gives the same shapes, plain and streamed', async () => {
  const req = { model: 'claude-sonnet-4-5', max_tokens: 50, system: SYSTEM, messages: [{ role: 'user' as const, content: 'What is the answer?' }] }
  const msg = await claude().messages.create(req, { headers: { 'x-request-id': 'an-json' } })
  assert.equal(msg.stop_reason, 'end_turn')
  const a = await attemptOf('an-json')
  const openaiSpan = await attemptOf('oa-json')
  assert.equal(a.attributes['gen_ai.system_instructions'], openaiSpan.attributes['gen_ai.system_instructions'])
  assert.equal(a.attributes['gen_ai.input.messages'], openaiSpan.attributes['gen_ai.input.messages'])
  assert.deepEqual(json(a, 'gen_ai.output.messages'), OUTPUT)

  const final = await claude().messages.stream(req, { headers: { 'x-request-id': 'an-sse' } }).finalMessage()
  assert.equal(final.stop_reason, 'end_turn')
  const s = await attemptOf('an-sse')
  assert.equal(s.attributes['gen_ai.input.messages'], openaiSpan.attributes['gen_ai.input.messages'])
  assert.deepEqual(json(s, 'gen_ai.output.messages'), OUTPUT)
})

test('the Responses API (official SDK, OpenAI upstream in pass-through): output messages for an answer and a stream', async () => {
  const req = { model: 'gpt-4o', instructions: SYSTEM, input: 'What is the answer?' }
  const r = await openai().responses.create(req, { headers: { 'x-request-id': 'rs-json' } })
  assert.equal(r.output_text, REPLY.join(''))
  const a = await attemptOf('rs-json')
  const chat = await attemptOf('oa-json')
  assert.equal(a.attributes['gen_ai.system_instructions'], chat.attributes['gen_ai.system_instructions'])
  assert.equal(a.attributes['gen_ai.input.messages'], chat.attributes['gen_ai.input.messages'])
  assert.deepEqual(json(a, 'gen_ai.output.messages'), OUTPUT)

  const stream = await openai().responses.create({ ...req, stream: true }, { headers: { 'x-request-id': 'rs-sse' } })
  let text = ''
  for await (const e of stream) if (e.type === 'response.output_text.delta') text += e.delta
  assert.equal(text, REPLY.join(''))
  const s = await attemptOf('rs-sse')
  assert.equal(s.attributes['gen_ai.input.messages'], chat.attributes['gen_ai.input.messages'])
  assert.deepEqual(json(s, 'gen_ai.output.messages'), OUTPUT, 'assembled from the Responses events')
})

test('n = 2 (official SDK): every choice is an output message with its index and finish_reason, plain and streamed', async () => {
  const expected = [
    { role: 'assistant', parts: [{ type: 'text', content: REPLY.join('') }], finish_reason: 'stop', index: 0 },
    { role: 'assistant', parts: [{ type: 'text', content: SECOND }], finish_reason: 'length', index: 1 },
  ]
  const messages = [{ role: 'user' as const, content: 'Two answers, please.' }]
  const r = await openai().chat.completions.create({ model: 'gpt-4o', n: 2, messages }, { headers: { 'x-request-id': 'n2-json' } })
  assert.deepEqual(r.choices.map((c) => c.message.content), [REPLY.join(''), SECOND])
  assert.deepEqual(json(await attemptOf('n2-json'), 'gen_ai.output.messages'), expected)

  const stream = await openai().chat.completions.create({ model: 'gpt-4o', n: 2, stream: true, messages }, { headers: { 'x-request-id': 'n2-sse' } })
  const texts = ['', '']
  for await (const c of stream) for (const ch of c.choices) texts[ch.index] += ch.delta?.content ?? ''
  assert.deepEqual(texts, [REPLY.join(''), SECOND])
  const s = await attemptOf('n2-sse')
  assert.deepEqual(json(s, 'gen_ai.output.messages'), expected, 'both choices assembled from the interleaved stream')
  assert.deepEqual(s.attributes['gen_ai.response.finish_reasons'], ['stop', 'length'])
})

test('embeddings on a capturing rule: no input text and no output messages (the conventions define no content for embeddings)', async () => {
  const input = 'embed-this-private-document-text'
  const r = await openai().embeddings.create({ model: 'text-embedding-3-small', input }, { headers: { 'x-request-id': 'emb' } })
  assert.equal(r.data.length, 1)
  const a = await attemptOf('emb')
  assert.equal(a.attributes['gen_ai.operation.name'], 'embeddings')
  for (const k of ['gen_ai.system_instructions', 'gen_ai.input.messages', 'gen_ai.output.messages']) assert.equal(a.attributes[k], undefined, k)
  assert.ok(!otlp.rawBodies.some((b) => b.includes(input)))
})

test('a rule without the opt-in exports no content at all', async () => {
  await openai().chat.completions.create({ model: 'gpt-plain', messages: [{ role: 'user', content: NOT_CAPTURED }] }, { headers: { 'x-request-id': 'plain' } })
  const a = await attemptOf('plain')
  for (const k of ['gen_ai.system_instructions', 'gen_ai.input.messages', 'gen_ai.output.messages']) assert.equal(a.attributes[k], undefined, k)
  assert.ok(!otlp.rawBodies.some((b) => b.includes(NOT_CAPTURED)))
})

test('a configured secret value and a pasted sk- key arrive redacted, and appear nowhere in the export', async () => {
  const prompt = `my keys: ${UPSTREAM_KEY} and ${CALLER_PASTED_KEY}`
  await openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-request-id': 'secret' } })
  const a = await attemptOf('secret')
  assert.deepEqual(json(a, 'gen_ai.input.messages'), [{ role: 'user', parts: [{ type: 'text', content: 'my keys: [redacted] and [redacted]' }] }])
  for (const b of otlp.rawBodies) {
    assert.ok(!b.includes(UPSTREAM_KEY), 'configured secret exported')
    assert.ok(!b.includes(CALLER_PASTED_KEY), 'pasted key exported')
  }
})

test('an oversized prompt is cut to max_content_bytes, as valid JSON', async () => {
  const huge = 'w'.repeat(20_000)
  await openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'first' }, { role: 'user', content: huge }, { role: 'user', content: 'last' }] }, { headers: { 'x-request-id': 'huge' } })
  const a = await attemptOf('huge')
  const raw = String(a.attributes['gen_ai.input.messages'])
  assert.ok(Buffer.byteLength(raw) <= 2048 && Buffer.byteLength(raw) > 1900, `${Buffer.byteLength(raw)} bytes`)
  const input = JSON.parse(raw)
  assert.equal(input.length, 2, 'the message after the cut is left out')
  assert.equal(input[0].parts[0].content, 'first')
  assert.match(input[1].parts[0].content, /^w+…\[truncated\]$/)
  assert.deepEqual(json(a, 'gen_ai.output.messages'), OUTPUT, 'the output has its own budget')
})

test('a stream that broke off records its input but no output content', async () => {
  const stream = await openai().chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'cut me off' }] }, { headers: { 'x-request-id': 'cut', 'x-case': 'truncate' } })
  let text = ''
  await assert.rejects(async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
  })
  assert.equal(text, REPLY.join(''), 'the caller got the text before the break')
  const a = await attemptOf('cut')
  assert.deepEqual(json(a, 'gen_ai.input.messages'), [{ role: 'user', parts: [{ type: 'text', content: 'cut me off' }] }])
  assert.equal(a.attributes['gen_ai.output.messages'], undefined)
  assert.notEqual(a.attributes['switchyard.attempt.outcome'], 'success')
})
