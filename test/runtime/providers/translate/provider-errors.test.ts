// Upstream errors in every dialect, answered in the caller's protocol.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseUpstreamError, toAnthropicError, toOpenAIError, callerError } from '../../../../src/runtime/providers/translate/provider-errors.js'
import type { UpstreamProtocol } from '../../../../src/protocols.js'
import { createProtocolTranslator } from '../../../../src/runtime/providers/translate/index.js'
import { fixture } from '../../../support/fixtures.js'

interface Case {
  name: string
  provider: UpstreamProtocol
  status: number
  body: string
  headers?: Record<string, string>
  openai: { status: number; type: string; code: string | null; retryAfter?: string }
  anthropic: { status: number; type: string }
}

const cases: Case[] = [
  {
    name: 'OpenAI context length stays a 400 with its code', provider: 'openai', status: 400, body: fixture('openai/error-context-length.json'),
    openai: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' }, anthropic: { status: 400, type: 'invalid_request_error' },
  },
  {
    name: 'OpenAI rate limit keeps retry-after', provider: 'openai', status: 429, body: fixture('openai/error-rate-limit.json'), headers: { 'retry-after': '2' },
    openai: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfter: '2' }, anthropic: { status: 429, type: 'rate_limit_error' },
  },
  {
    name: 'Anthropic prompt too long becomes context_length_exceeded', provider: 'anthropic', status: 400, body: fixture('anthropic/error-prompt-too-long.json'),
    openai: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' }, anthropic: { status: 400, type: 'invalid_request_error' },
  },
  {
    name: 'Anthropic 529 overloaded becomes a 503 for OpenAI callers', provider: 'anthropic', status: 529, body: fixture('anthropic/error-overloaded.json'),
    openai: { status: 503, type: 'server_error', code: null }, anthropic: { status: 529, type: 'overloaded_error' },
  },
  {
    name: 'Anthropic rate limit with retry-after', provider: 'anthropic', status: 429, body: fixture('anthropic/error-rate-limit.json'), headers: { 'retry-after': '11' },
    openai: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfter: '11' }, anthropic: { status: 429, type: 'rate_limit_error' },
  },
  {
    name: 'Gemini RESOURCE_EXHAUSTED takes retry-after from RetryInfo', provider: 'gemini', status: 429, body: fixture('gemini/error-rate-limit.json'),
    openai: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfter: '37' }, anthropic: { status: 429, type: 'rate_limit_error' },
  },
  {
    name: 'Gemini invalid API key (a 400) becomes a 401', provider: 'gemini', status: 400, body: fixture('gemini/error-invalid-key.json'),
    openai: { status: 401, type: 'authentication_error', code: 'invalid_api_key' }, anthropic: { status: 401, type: 'authentication_error' },
  },
  {
    name: 'Gemini input token overflow becomes context_length_exceeded', provider: 'gemini', status: 400, body: fixture('gemini/error-context-length.json'),
    openai: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' }, anthropic: { status: 400, type: 'invalid_request_error' },
  },
  {
    name: 'Bedrock ThrottlingException from the error-type header', provider: 'bedrock', status: 429, body: fixture('bedrock/error-throttling.json'),
    headers: { 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
    openai: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' }, anthropic: { status: 429, type: 'rate_limit_error' },
  },
  {
    name: 'Bedrock input too long becomes context_length_exceeded', provider: 'bedrock', status: 400, body: fixture('bedrock/error-input-too-long.json'),
    headers: { 'x-amzn-errortype': 'ValidationException' },
    openai: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' }, anthropic: { status: 400, type: 'invalid_request_error' },
  },
  {
    name: 'Bedrock bad credentials (a 403) become a 401', provider: 'bedrock', status: 403, body: '{"message":"The security token included in the request is invalid."}',
    headers: { 'x-amzn-errortype': 'UnrecognizedClientException' },
    openai: { status: 401, type: 'authentication_error', code: 'invalid_api_key' }, anthropic: { status: 401, type: 'authentication_error' },
  },
  {
    name: 'Bedrock ModelTimeoutException becomes a 408', provider: 'bedrock', status: 408, body: '{"message":"Model has timed out"}',
    headers: { 'x-amzn-errortype': 'ModelTimeoutException' },
    openai: { status: 408, type: 'invalid_request_error', code: 'timeout' }, anthropic: { status: 408, type: 'timeout_error' },
  },
  {
    name: 'a 413 stays request_too_large', provider: 'anthropic', status: 413, body: '{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum size"}}',
    openai: { status: 413, type: 'invalid_request_error', code: 'request_too_large' }, anthropic: { status: 413, type: 'request_too_large' },
  },
  {
    name: 'an upstream 502 HTML page keeps its status', provider: 'openai', status: 502, body: '<html>Bad Gateway</html>',
    openai: { status: 502, type: 'server_error', code: null }, anthropic: { status: 502, type: 'api_error' },
  },
  {
    name: 'OpenAI 404 model not found', provider: 'openai', status: 404, body: '{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}',
    openai: { status: 404, type: 'not_found_error', code: 'not_found' }, anthropic: { status: 404, type: 'not_found_error' },
  },
]

for (const c of cases) {
  test(`${c.name}, in both caller protocols`, () => {
    const e = parseUpstreamError(c.provider, c.status, c.body, c.headers)
    const o = toOpenAIError(e)
    assert.equal(o.status, c.openai.status)
    assert.equal(o.body.error.type, c.openai.type)
    assert.equal(o.body.error.code, c.openai.code)
    assert.equal(o.headers['retry-after'], c.openai.retryAfter)
    assert.ok(o.body.error.message.length > 0)
    const a = toAnthropicError(e)
    assert.deepStrictEqual({ status: a.status, type: a.body.error.type }, c.anthropic)
    assert.equal(a.body.type, 'error')
    assert.equal(a.body.error.message, o.body.error.message)
  })
}

test('the provider message is kept with key-like strings redacted', () => {
  const e = parseUpstreamError('openai', 401, fixture('openai/error-invalid-key.json'))
  assert.equal(e.message.startsWith('Incorrect API key provided: [redacted].'), true)
  assert.ok(!e.message.includes('sk-proj'))
})

test('an HTTP-date retry-after becomes seconds from now', () => {
  const at = new Date(Date.now() + 30_000).toUTCString()
  const e = parseUpstreamError('anthropic', 429, undefined, { 'retry-after': at })
  assert.ok(e.retryAfterSeconds! >= 28 && e.retryAfterSeconds! <= 31)
  assert.match(e.message, /returned HTTP 429/)
})

test('retry-after-ms wins over retry-after and fetch Headers are accepted', () => {
  const e = parseUpstreamError('openai', 429, '{}', new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }))
  assert.equal(e.retryAfterSeconds, 2)
})

test('a gateway-made error is phrased in the caller protocol', () => {
  assert.deepStrictEqual(callerError('openai', 400, 'n=2 is not supported', 'n'), {
    status: 400, headers: {}, body: { error: { message: 'n=2 is not supported', type: 'invalid_request_error', param: 'n', code: null } },
  })
  assert.deepStrictEqual(callerError('anthropic', 400, 'bad').body, { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } })
})

test('the pair translator maps an Anthropic caller over Gemini end to end', () => {
  const t = createProtocolTranslator('anthropic', 'gemini')
  const { body, dropped } = t.request({ model: 'g', max_tokens: 10, top_k: 5, system: 'be brief', messages: [{ role: 'user', content: 'hi' }], stream: true })
  assert.deepStrictEqual(body, {
    contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
    systemInstruction: { parts: [{ text: 'be brief' }] },
    generationConfig: { maxOutputTokens: 10 },
  })
  assert.deepStrictEqual(dropped, ['top_k'])
  const err = t.error(429, fixture('gemini/error-rate-limit.json'))
  assert.deepStrictEqual(err.headers, { 'retry-after': '37' })
  assert.equal(err.status, 429)
})

test('a same-protocol pair is refused because the bytes should be forwarded', () => {
  assert.throws(() => createProtocolTranslator('openai', 'openai'), /forward the bytes/)
})
