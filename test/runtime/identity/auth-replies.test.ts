/**
 * The auth answers as the official SDKs see them: a local server answers each reply, and the
 * openai and @anthropic-ai/sdk clients must raise their own error class with the fields intact.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { identityReply, IdentityMessages, type IdentityErrorCode } from '../../../src/runtime/identity/auth-replies.js'
import type { Protocol } from '../../../src/protocols.js'
import type { LocalReply } from '../../../src/runtime/types.js'
import { startHttpServer } from '../../support/http-server.js'

/** A server that answers every request with `next`; the test sets it before each call. */
async function replying(t: { after(fn: () => unknown): void }) {
  const state: { next?: LocalReply } = {}
  const server = await startHttpServer((_req, res) => {
    const r = state.next!
    res.writeHead(r.status, Object.fromEntries(r.headers)).end(r.body)
  })
  t.after(() => server.close())
  return { state, url: server.origin }
}

async function openaiError(url: string): Promise<InstanceType<typeof OpenAI.APIError>> {
  const client = new OpenAI({ apiKey: 'sy-wrong', baseURL: `${url}/v1`, maxRetries: 0 })
  const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof OpenAI.APIError, String(err))
  return err
}

async function anthropicError(url: string): Promise<InstanceType<typeof Anthropic.APIError>> {
  const client = new Anthropic({ apiKey: 'sy-wrong', baseURL: url, maxRetries: 0 })
  const err = await client.messages.create({ model: 'claude-3-5-haiku', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof Anthropic.APIError, String(err))
  return err
}

const reply = (p: Protocol, code: IdentityErrorCode, message: string, retry?: number) => identityReply(p, code, message, retry)

test('openai SDK: 401 is AuthenticationError with code invalid_api_key', async (t) => {
  const s = await replying(t)
  s.state.next = reply('openai', 'SY_UNAUTHENTICATED', IdentityMessages.invalid)
  const err = await openaiError(s.url)
  assert.ok(err instanceof OpenAI.AuthenticationError)
  assert.equal(err.status, 401)
  assert.equal(err.code, 'invalid_api_key')
  assert.equal(err.type, 'invalid_request_error')
  assert.equal(err.param, null)
  assert.match(err.message, /Invalid API key or token\./)
  assert.equal(err.headers.get('www-authenticate'), 'Bearer realm="switchyard"')
})

test('openai SDK: 403 for a model is PermissionDeniedError naming the model', async (t) => {
  const s = await replying(t)
  s.state.next = reply('openai', 'SY_MODEL_FORBIDDEN', IdentityMessages.model('gpt-4o'))
  const err = await openaiError(s.url)
  assert.ok(err instanceof OpenAI.PermissionDeniedError)
  assert.equal(err.code, 'model_not_found')
  assert.match(err.message, /This key may not use model 'gpt-4o'\./)
})

test('openai SDK: 429 for repeated failures is RateLimitError with Retry-After', async (t) => {
  const s = await replying(t)
  s.state.next = reply('openai', 'SY_AUTH_THROTTLED', IdentityMessages.throttled, 12.2)
  const err = await openaiError(s.url)
  assert.ok(err instanceof OpenAI.RateLimitError)
  assert.equal(err.code, 'rate_limit_exceeded')
  assert.equal(err.headers.get('retry-after'), '13')
})

test('openai SDK: 503 when credentials cannot be checked is InternalServerError (which it retries)', async (t) => {
  const s = await replying(t)
  s.state.next = reply('openai', 'SY_AUTH_UNAVAILABLE', IdentityMessages.unavailable)
  const err = await openaiError(s.url)
  assert.ok(err instanceof OpenAI.InternalServerError)
  assert.equal(err.status, 503)
})

test('anthropic SDK: 401 is AuthenticationError with type authentication_error', async (t) => {
  const s = await replying(t)
  s.state.next = reply('anthropic', 'SY_UNAUTHENTICATED', IdentityMessages.missing('anthropic'))
  const err = await anthropicError(s.url)
  assert.ok(err instanceof Anthropic.AuthenticationError)
  assert.deepStrictEqual(err.error, { type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } })
})

test('anthropic SDK: 403 is PermissionDeniedError with type permission_error', async (t) => {
  const s = await replying(t)
  s.state.next = reply('anthropic', 'SY_FORBIDDEN', IdentityMessages.route)
  const err = await anthropicError(s.url)
  assert.ok(err instanceof Anthropic.PermissionDeniedError)
  assert.deepStrictEqual(err.error, { type: 'error', error: { type: 'permission_error', message: 'This key may not use this route.' } })
})

test('anthropic SDK: 429 is RateLimitError with type rate_limit_error and Retry-After', async (t) => {
  const s = await replying(t)
  s.state.next = reply('anthropic', 'SY_AUTH_THROTTLED', IdentityMessages.throttled, 0.2)
  const err = await anthropicError(s.url)
  assert.ok(err instanceof Anthropic.RateLimitError)
  assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error')
  assert.equal(err.headers?.get('retry-after'), '1', 'at least one second')
})
