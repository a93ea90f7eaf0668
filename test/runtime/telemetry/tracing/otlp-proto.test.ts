/**
 * The hand-written OTLP protobuf encoder against the generated OTLP classes of
 * @opentelemetry/otlp-transformer (an independent decoder): every field of both span kinds, exact
 * nanosecond times beyond 2^53, lengths that need 1, 2 and 3 varint bytes, UTF-8, the attribute
 * cache (same bytes the first time and the hundredth), and caller strings cut to 1024 characters.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { attributeFragment, encodeTraces, envelope } from '../../../../src/runtime/telemetry/tracing/otlp-proto.js'
import { AttemptSpan, randomHex, RequestTrace } from '../../../../src/runtime/telemetry/tracing/span-record.js'
import { decodeTraces, protobufToJson } from '../../../support/otlp-receiver.js'

const env = envelope({ 'service.name': 'sy-test', 'process.pid': 42, 'x.flag': true, 'x.ratio': 0.5 })
const listener = attributeFragment([['server.port', 8080], ['switchyard.listener', 'api']])
const endpoint = attributeFragment([['gen_ai.provider.name', 'openai'], ['server.address', '127.0.0.1'], ['server.port', 9000], ['switchyard.cluster', 'up'], ['switchyard.endpoint', 'e0']])

function trace(opts: { path?: string; model?: string; failed?: boolean } = {}): RequestTrace {
  const t = new RequestTrace(randomHex(32), randomHex(16), '00f067aa0ba902b7', 1000.25, 'POST', opts.path ?? '/v1/chat/completions', listener, 'req-1', 'chat')
  if (opts.failed) {
    const f = new AttemptSpan(randomHex(16), 1001, endpoint, 1, undefined)
    f.model = 'gpt-4o'
    f.endedAt = 1002
    f.status = 503
    f.outcome = '5xx'
    f.errorType = '503'
    f.nextStep = 'retry'
    t.addAttempt(f)
  }
  const a = new AttemptSpan(randomHex(16), 1003.5, endpoint, opts.failed ? 2 : 1, opts.failed ? '503' : undefined)
  a.model = opts.model ?? 'gpt-4o'
  a.usage = { inputTokens: 11, outputTokens: 300_000, cachedInputTokens: 5, reasoningTokens: 0 }
  a.answer = { model: 'gpt-4o-2024-08-06', finishReasons: ['stop', undefined as unknown as string, 'length'] }
  a.firstChunkAt = 1010
  a.endedAt = 1020.000001
  a.status = 200
  a.outcome = 'success'
  t.addAttempt(a)
  t.current = undefined
  t.route = 'chat'
  t.tenant = 'tënant-ü'
  t.requestModel = 'gpt-4o'
  t.status = 200
  t.endedAt = 1021
  t.spans = 1 + t.attempts
  return t
}

const decode = (b: Buffer) => decodeTraces(protobufToJson(b))

test('both span kinds decode with every attribute, link, event and status', () => {
  const t = trace({ failed: true })
  const spans = decode(encodeTraces(env, [t]))
  assert.equal(spans.length, 3)
  const [server, failed, ok] = spans
  assert.deepStrictEqual([server.traceId, server.spanId, server.parentSpanId, server.name, server.kind, server.status], [t.traceId, t.spanId, '00f067aa0ba902b7', 'POST chat', 2, 0])
  assert.deepStrictEqual(server.attributes, {
    'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'server.port': 8080, 'switchyard.listener': 'api', 'switchyard.request_id': 'req-1',
    'switchyard.route': 'chat', 'switchyard.tenant': 'tënant-ü', 'gen_ai.request.model': 'gpt-4o', 'switchyard.attempts': 2, 'http.response.status_code': 200,
  })
  // Who answered, the usage and the answer's facts are the last client span's only (the server span does not repeat them).
  assert.deepStrictEqual([ok.attributes['switchyard.cluster'], ok.attributes['gen_ai.usage.input_tokens'], ok.attributes['gen_ai.usage.output_tokens'], ok.attributes['gen_ai.usage.cache_read.input_tokens'], ok.attributes['gen_ai.response.model'], ok.attributes['gen_ai.response.finish_reasons']],
    ['up', 11, 300000, 5, 'gpt-4o-2024-08-06', ['stop', 'length']])
  assert.deepStrictEqual(server.resource, { 'service.name': 'sy-test', 'process.pid': 42, 'x.flag': true, 'x.ratio': 0.5 })
  assert.deepStrictEqual([failed.parentSpanId, failed.name, failed.kind, failed.status, failed.events], [t.spanId, 'chat gpt-4o', 3, 2, []])
  assert.deepStrictEqual(failed.attributes, {
    'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'server.address': '127.0.0.1', 'server.port': 9000, 'switchyard.cluster': 'up', 'switchyard.endpoint': 'e0',
    'switchyard.attempt': 1, 'gen_ai.request.model': 'gpt-4o', 'http.response.status_code': 503, 'switchyard.attempt.outcome': '5xx', 'switchyard.attempt.next': 'retry', 'error.type': '503',
  })
  assert.equal(ok.attributes['switchyard.attempt.reason'], '503')
  assert.deepStrictEqual(ok.events.map((e) => [e.name, e.attributes['gen_ai.server.time_to_first_token']]), [['gen_ai.first_token', (1010 - 1000.25) / 1000]])
})

test('times are exact epoch nanoseconds (computed past 2^53 without losing digits)', () => {
  const t = trace()
  const [server, attempt] = decode(encodeTraces(env, [t]))
  // The origin's nanoseconds plus the reading's, each exact (their sum as a double would round to ~0.24 µs).
  const expected = (perf: number) => {
    const whole = Math.floor(performance.timeOrigin)
    return BigInt(whole) * 1_000_000n + BigInt(Math.round((performance.timeOrigin - whole) * 1e6)) + BigInt(Math.round(perf * 1e6))
  }
  assert.equal(server.startNs, expected(1000.25))
  assert.equal(server.endNs, expected(1021))
  assert.equal(attempt.endNs, expected(1020.000001))
})

test('long, unicode and cached values: a path of 1, 2 and 3 length bytes, cut at 1024 characters, the same bytes when cached', () => {
  for (const path of ['/a', `/${'é'.repeat(200)}`, `/${'x'.repeat(70_000)}`]) {
    const [server] = decode(encodeTraces(env, [trace({ path })]))
    assert.equal(server.attributes['url.path'], path.slice(0, 1024))
  }
  const long = `m-${'z'.repeat(5000)}`
  const [, attempt] = decode(encodeTraces(env, [trace({ model: long })]))
  assert.equal(attempt.attributes['gen_ai.request.model'], long.slice(0, 1024))
  assert.equal(attempt.name, `chat ${long}`.slice(0, 1024))
  const t = trace()
  const first = encodeTraces(env, [t])
  for (let i = 0; i < 100; i++) encodeTraces(env, [trace()])
  assert.deepStrictEqual(encodeTraces(env, [t]), first)
})

test('a batch of many traces is one request holding all their spans', () => {
  const batch = Array.from({ length: 600 }, (_, i) => trace({ failed: i % 3 === 0 }))
  const spans = decode(encodeTraces(env, batch))
  assert.equal(spans.length, batch.reduce((n, t) => n + t.spans, 0))
  assert.deepStrictEqual(new Set(spans.filter((s) => s.kind === 2).map((s) => s.traceId)), new Set(batch.map((t) => t.traceId)))
})

test('captured content attributes are written whole (not cut at 1024), up to the largest max_content_bytes', () => {
  const t = trace()
  const big = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'ü'.repeat(120_000) }] }])
  t.last!.content = { systemInstructions: '[{"type":"text","content":"Be brief."}]', inputMessages: big, outputMessages: undefined }
  const [server, attempt] = decode(encodeTraces(env, [t]))
  assert.equal(attempt.attributes['gen_ai.system_instructions'], '[{"type":"text","content":"Be brief."}]')
  assert.equal(attempt.attributes['gen_ai.input.messages'], big)
  assert.equal(attempt.attributes['gen_ai.output.messages'], undefined)
  assert.equal(attempt.attributes['gen_ai.usage.input_tokens'], 11, 'the attributes around it are intact')
  assert.equal(server.attributes['gen_ai.input.messages'], undefined)
})

test('span names are cached by their parts: a missing part and an empty one stay apart, cached bytes equal fresh ones', () => {
  const names = (over: (t: RequestTrace) => void) => {
    const t = trace()
    over(t)
    return decode(encodeTraces(env, [t])).map((s) => s.name)
  }
  assert.deepStrictEqual(names((t) => (t.route = undefined)), ['POST', 'chat gpt-4o'])
  assert.deepStrictEqual(names((t) => (t.route = '')), ['POST ', 'chat gpt-4o'])
  assert.deepStrictEqual(names((t) => (t.last!.model = undefined)), ['POST chat', 'chat'])
  assert.deepStrictEqual(names((t) => (t.last!.model = '')), ['POST chat', 'chat '])
  assert.deepStrictEqual(names((t) => (t.last!.model = 'é-model')), ['POST chat', 'chat é-model'])
  assert.deepStrictEqual(names((t) => (t.last!.model = 'é-model')), ['POST chat', 'chat é-model'], 'the second time from the cache')
})
