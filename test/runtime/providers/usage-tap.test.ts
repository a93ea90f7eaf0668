/** SseUsageTap: whole events out, usage read from the tail, and every event's data must parse. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SseUsageTap } from '../../../src/runtime/providers/usage-tap.js'

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
