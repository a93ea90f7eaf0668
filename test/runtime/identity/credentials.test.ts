/**
 * Reading the caller's credential from the headers the official SDKs send, and removing every
 * credential header before the request goes upstream.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearerToken, compileCredentialReader, credentialOrder, stripHeaders } from '../../../src/runtime/identity/credentials.js'
import { forwardedRequestHeaders } from '../../../src/runtime/upstream/headers.js'
import type { CompiledEndpoint } from '../../../src/runtime/types.js'

const openai = compileCredentialReader(credentialOrder('openai'))
const anthropic = compileCredentialReader(credentialOrder('anthropic'))

test('Bearer tokens: scheme case-insensitive, surrounding spaces trimmed, other schemes ignored', () => {
  assert.equal(bearerToken('Bearer sy-abc'), 'sy-abc')
  assert.equal(bearerToken('bearer sy-abc'), 'sy-abc')
  assert.equal(bearerToken('BEARER   sy-abc  '), 'sy-abc')
  assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined)
  assert.equal(bearerToken('Bearer '), undefined)
  assert.equal(bearerToken('Bearer'), undefined)
  assert.equal(bearerToken('Bearersy-abc'), undefined)
})

test('each SDK header is read: Authorization (openai), x-api-key (anthropic), api-key (Azure)', () => {
  assert.deepStrictEqual(openai.read({ authorization: 'Bearer k1' }), { value: 'k1', header: 'authorization' })
  assert.deepStrictEqual(openai.read({ 'x-api-key': 'k2' }), { value: 'k2', header: 'x-api-key' })
  assert.deepStrictEqual(openai.read({ 'api-key': ' k3 ' }), { value: 'k3', header: 'api-key' })
  assert.equal(openai.read({ 'content-type': 'application/json' }), undefined)
  assert.equal(openai.read({ 'x-api-key': '  ' }), undefined)
})

test("the listener's own protocol header wins when a caller sends two", () => {
  const both = { authorization: 'Bearer from-auth', 'x-api-key': 'from-x-api-key' }
  assert.equal(openai.read(both)?.value, 'from-auth')
  assert.equal(anthropic.read(both)?.value, 'from-x-api-key')
  assert.deepStrictEqual(anthropic.order, ['x-api-key', 'authorization', 'api-key'])
})

test('a non-Bearer Authorization falls through to the next header', () => {
  assert.deepStrictEqual(openai.read({ authorization: 'Basic Zm9v', 'api-key': 'k' }), { value: 'k', header: 'api-key' })
})

test('extra names are stripped; other headers stay', () => {
  const h: Record<string, string> = { 'x-auth-tenant': 'acme', 'content-type': 'application/json', 'x-request-id': 'r1' }
  stripHeaders(h, ['x-auth-tenant', 'absent'])
  assert.deepStrictEqual(h, { 'content-type': 'application/json', 'x-request-id': 'r1' })
})

test("an identified caller's credential headers are never forwarded; an anonymous caller's are, unless the endpoint has its own", () => {
  const h: Record<string, string> = { authorization: 'Bearer k', 'x-api-key': 'k', 'api-key': 'k', 'content-type': 'application/json', host: 'gw', 'x-trace': 't' }
  const bare = { baseHeaders: [] as string[], hasCredentials: false } as unknown as CompiledEndpoint
  const keyed = { baseHeaders: ['authorization', 'Bearer upstream'], hasCredentials: true } as unknown as CompiledEndpoint
  assert.deepStrictEqual(forwardedRequestHeaders(h, bare, true), ['content-type', 'application/json', 'x-trace', 't'])
  assert.deepStrictEqual(forwardedRequestHeaders(h, keyed, false), ['authorization', 'Bearer upstream', 'content-type', 'application/json', 'x-trace', 't'])
  assert.deepStrictEqual(forwardedRequestHeaders(h, bare, false), ['authorization', 'Bearer k', 'x-api-key', 'k', 'api-key', 'k', 'content-type', 'application/json', 'x-trace', 't'])
})
