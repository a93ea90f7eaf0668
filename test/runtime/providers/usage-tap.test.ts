/** SseUsageTap: whole events out, usage read from the tail, and every event's data must parse. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SseUsageTap } from '../../../src/runtime/providers/usage-tap.js'
import { ANSWER_SPOT, answerFactsFromJson, answerFactsFromUpstream } from '../../../src/runtime/providers/answer-facts.js'
import { isJsonDocument } from '../../../src/runtime/providers/json-syntax.js'
import type { AnswerFacts } from '../../../src/runtime/types.js'

const chunk = (content: string) => `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}\n\n`
const usage = 'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'
const DONE = 'data: [DONE]\n\n'

function run(tap: SseUsageTap, parts: string[]): string {
  let out = ''
  for (const p of parts) out += tap.push(Buffer.from(p))?.toString() ?? ''
  return out + (tap.flush()?.toString() ?? '')
}

test('a well-formed OpenAI stream passes through byte for byte and is complete', () => {
  const tap = new SseUsageTap('openai', false)
  const body = chunk('Hel') + chunk('lo') + usage + DONE
  assert.equal(run(tap, [body.slice(0, 37), body.slice(37, 90), body.slice(90)]), body)
  assert.equal(tap.complete, true)
  assert.equal(tap.malformed, undefined)
  assert.deepStrictEqual(tap.usage && [tap.usage.inputTokens, tap.usage.outputTokens], [3, 2])
})

test('an event whose data is not JSON stops the stream there: the events before it go out, nothing after', () => {
  const tap = new SseUsageTap('openai', false)
  const out = run(tap, [chunk('ok') + 'data: {not json\n\n' + chunk('later') + DONE])
  assert.equal(out, chunk('ok'))
  assert.equal(tap.malformed, '{not json')
  assert.equal(tap.complete, false, 'a [DONE] after the bad event does not make the answer whole')
  assert.equal(tap.push(Buffer.from(chunk('more'))), undefined)
})

test('a malformed first event yields nothing at all, so the request can still be retried', () => {
  const tap = new SseUsageTap('openai', false)
  assert.equal(tap.push(Buffer.from('data: <html>502 Bad Gateway</html>\n\n')), undefined)
  assert.equal(tap.malformed, '<html>502 Bad Gateway</html>')
})

test('comments, event names, CRLF line ends and multi-line data are understood', () => {
  const tap = new SseUsageTap('anthropic', false)
  const body = ': ping\n\nevent: message_start\r\ndata: {"type":"message_start",\r\ndata: "message":{"usage":{"input_tokens":4,"output_tokens":1}}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'
  assert.equal(run(tap, [body]), body)
  assert.equal(tap.malformed, undefined)
  assert.equal(tap.complete, true)
})

test('[DONE] is only an end marker on OpenAI streams; on an Anthropic stream it is not JSON', () => {
  const tap = new SseUsageTap('anthropic', false)
  run(tap, ['event: message_start\ndata: {"type":"message_start","message":{}}\n\n', DONE])
  assert.equal(tap.malformed, '[DONE]')
})

test('a value cannot continue across an event boundary', () => {
  const tap = new SseUsageTap('openai', false)
  assert.equal(run(tap, ['data: [1,\n\n2]\n\n', DONE]), '')
  assert.equal(tap.malformed, '[1,')
})

test('the usage-only chunk is found by its key even when "usage" appears in the text, and dropped when asked', () => {
  const tap = new SseUsageTap('openai', true)
  const body = chunk('the word "usage": {') + usage + DONE
  assert.equal(run(tap, [body]), chunk('the word "usage": {') + DONE)
  assert.deepStrictEqual(tap.usage && [tap.usage.inputTokens, tap.usage.outputTokens], [3, 2])
})

test('the opening is recognised: role-only OpenAI chunks, Anthropic message_start and ping, comments — nothing with content', () => {
  const openai = new SseUsageTap('openai', false)
  const role = 'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
  const roleRefusal = 'data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":null},"finish_reason":null}]}\n\n'
  const withTool = 'data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}\n\n'
  const anthropic = new SseUsageTap('anthropic', false)
  assert.deepStrictEqual(
    [role, roleRefusal, ': keep-alive\n\n' + role, role + chunk('Hi'), withTool, usage, DONE].map((s) => openai.openingOnly(Buffer.from(s))),
    [true, true, true, false, false, false, false],
  )
  assert.deepStrictEqual(
    ['event: message_start\ndata: {"type":"message_start","message":{}}\n\nevent: ping\ndata: {"type":"ping"}\n\n', 'event: content_block_start\ndata: {"type":"content_block_start"}\n\n'].map((s) => anthropic.openingOnly(Buffer.from(s))),
    [true, false],
  )
})

test('openings with several choices are judged by decoding them', () => {
  const tap = new SseUsageTap('openai', false)
  const two = (second: string) => `data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null},{"index":1,"delta":${second},"finish_reason":null}]}\n\n`
  assert.deepStrictEqual([two('{"role":"assistant","content":""}'), two('{"content":"x"}')].map((s) => tap.openingOnly(Buffer.from(s))), [true, false])
})

// ---------------------------------------------------------------- answer facts (traced attempts)

const facts = (): AnswerFacts => ({ model: undefined, finishReasons: undefined })
const oaChunk = (model: string, choices: object[]) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model, choices })}\n\n`

test('a traced OpenAI stream keeps the first model named and each choice\'s finish reason, in the scanned and the decoded shape', () => {
  // `id:` lines are not the scanner's shape: those events are decoded with the SSE parser
  for (const prefix of ['', 'id: 7\n']) {
    const f = facts()
    const tap = new SseUsageTap('openai', false, 2, false, f)
    const body = (oaChunk('gpt-x-1', [{ index: 0, delta: { role: 'assistant', content: 'hi "model":"no"' }, finish_reason: null }]) +
      oaChunk('gpt-x-2', [{ index: 1, delta: {}, finish_reason: 'length' }]) +
      oaChunk('gpt-x-3', [{ index: 0, delta: {}, finish_reason: 'stop' }])).replaceAll('data: ', `${prefix}data: `) + DONE
    assert.equal(run(tap, [body.slice(0, 50), body.slice(50)]), body)
    assert.deepStrictEqual(f, { model: 'gpt-x-1', finishReasons: ['stop', 'length'] }, JSON.stringify(prefix))
  }
})

test('an untraced tap reads no model (and a traced one still judges a stream without [DONE])', () => {
  const tap = new SseUsageTap('openai', false)
  run(tap, [oaChunk('gpt-x', [{ index: 0, delta: {}, finish_reason: 'stop' }])])
  assert.equal(tap.finishedWithoutMarker(), true)
  const f = facts()
  const traced = new SseUsageTap('openai', false, 1, false, f)
  run(traced, [oaChunk('gpt-x', [{ index: 0, delta: { content: 'a' }, finish_reason: null }])])
  assert.equal(traced.finishedWithoutMarker(), false)
  run(traced, [oaChunk('gpt-x', [{ index: 0, delta: {}, finish_reason: 'stop' }])])
  assert.equal(traced.finishedWithoutMarker(), true)
  assert.deepStrictEqual(f, { model: 'gpt-x', finishReasons: ['stop'] })
})

test('traced Anthropic and Responses streams: the model and reason from the events decoded for usage', () => {
  const f = facts()
  const an = new SseUsageTap('anthropic', false, 1, false, f)
  run(an, [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"claude-x","usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":9}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  ])
  assert.deepStrictEqual(f, { model: 'claude-x', finishReasons: ['max_tokens'] })
  const r = facts()
  const rs = new SseUsageTap('responses', false, 1, false, r)
  run(rs, [
    'event: response.created\ndata: {"type":"response.created","response":{"model":"gpt-r","status":"in_progress","usage":null}}\n\n',
    'event: response.incomplete\ndata: {"type":"response.incomplete","response":{"model":"gpt-r-1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}}\n\n',
  ])
  assert.deepStrictEqual(r, { model: 'gpt-r-1', finishReasons: ['max_output_tokens'] })
})

test('a JSON answer\'s facts come from the marks its syntax check left: nested keys in text are not members', () => {
  const read = (body: object, protocol: 'openai' | 'anthropic' | 'responses') => {
    const b = Buffer.from(JSON.stringify(body, null, 1))
    assert.equal(isJsonDocument(b, ANSWER_SPOT), true)
    const f = facts()
    answerFactsFromJson(b, protocol, ANSWER_SPOT, f)
    return f
  }
  const msg = { role: 'assistant', content: '"finish_reason": "nope", "model": "nope"' }
  assert.deepStrictEqual(read({ id: 'x', model: 'gpt-j', choices: [{ index: 0, message: msg, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 1 } }, 'openai'), { model: 'gpt-j', finishReasons: ['tool_calls'] })
  assert.deepStrictEqual(read({ model: 'gpt-j', choices: [{ index: 1, message: msg, finish_reason: 'length' }, { index: 0, message: msg, finish_reason: 'stop' }] }, 'openai'), { model: 'gpt-j', finishReasons: ['stop', 'length'] })
  assert.deepStrictEqual(read({ model: 'gpt-j', choices: [{ index: 0, message: msg, finish_reason: null }] }, 'openai'), { model: 'gpt-j', finishReasons: undefined })
  assert.deepStrictEqual(read({ type: 'message', model: 'claude-j', content: [{ type: 'text', text: '"stop_reason":"x"' }], stop_reason: 'end_turn' }, 'anthropic'), { model: 'claude-j', finishReasons: ['end_turn'] })
  assert.deepStrictEqual(read({ object: 'response', model: 'gpt-r', status: 'completed', output: [{ status: 'completed' }] }, 'responses'), { model: 'gpt-r', finishReasons: ['completed'] })
})

test('an upstream answer decoded for translation: each provider\'s own words', () => {
  const of = (body: object, p: 'openai' | 'anthropic' | 'gemini' | 'bedrock') => {
    const f = facts()
    answerFactsFromUpstream(body, p, f)
    return f
  }
  assert.deepStrictEqual(of({ model: 'm', choices: [{ index: 0, finish_reason: 'stop' }] }, 'openai'), { model: 'm', finishReasons: ['stop'] })
  assert.deepStrictEqual(of({ model: 'c', stop_reason: 'tool_use' }, 'anthropic'), { model: 'c', finishReasons: ['tool_use'] })
  assert.deepStrictEqual(of({ modelVersion: 'g', candidates: [{ finishReason: 'MAX_TOKENS', index: 0 }] }, 'gemini'), { model: 'g', finishReasons: ['MAX_TOKENS'] })
  assert.deepStrictEqual(of({ output: {}, stopReason: 'end_turn' }, 'bedrock'), { model: undefined, finishReasons: ['end_turn'] })
})
