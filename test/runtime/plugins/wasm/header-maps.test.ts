/**
 * The header maps over a request's own structures: the spec's serialization (its own example),
 * pseudo-headers first and read-only except `:status`, lower-cased names, unsafe values refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { editMap, MapType, pairsOf, parsePairs, replaceMap, serializePairs, valueOf } from '../../../../src/runtime/plugins/wasm/header-maps.js'
import type { RequestContext } from '../../../../src/runtime/types.js'

const ctxOf = () => ({
  head: { method: 'POST', path: '/v1/chat/completions', query: 'a=1' },
  headers: { host: 'gw', 'x-a': '1' },
  responseHeaders: [['content-type', 'application/json'], ['vary', 'a'], ['vary', 'b']],
  status: 200,
}) as unknown as RequestContext

test('serialization: the spec\'s example map, both ways; an empty map both ways', () => {
  const bytes = serializePairs([['a', '1'], ['b', '22']])
  assert.deepEqual([...bytes], [2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0])
  assert.deepEqual(parsePairs(bytes), [['a', '1'], ['b', '22']])
  assert.deepEqual(parsePairs(new Uint8Array()), [])
  assert.deepEqual(parsePairs(Uint8Array.of(0)), [])
  assert.equal(parsePairs(Uint8Array.of(5, 0, 0, 0)), undefined, 'a count the bytes cannot hold')
})

test('request headers: pseudo-headers first and read-only; add joins with a comma', () => {
  const ctx = ctxOf()
  assert.deepEqual(pairsOf(ctx, MapType.requestHeaders)!.slice(0, 4), [[':method', 'POST'], [':path', '/v1/chat/completions?a=1'], [':authority', 'gw'], [':scheme', 'http']])
  assert.equal(valueOf(ctx, MapType.requestHeaders, 'X-A'), '1')
  assert.ok(editMap(ctx, MapType.requestHeaders, 'add', 'X-A', '2'))
  assert.equal(ctx.headers['x-a'], '1, 2')
  assert.ok(editMap(ctx, MapType.requestHeaders, 'replace', ':path', '/other'))
  assert.equal(valueOf(ctx, MapType.requestHeaders, ':path'), '/v1/chat/completions?a=1', 'the route is chosen: :path stays')
  assert.equal(editMap(ctx, MapType.requestHeaders, 'add', 'x-b', 'evil\r\nx-c: 1'), false)
  assert.ok(replaceMap(ctx, MapType.requestHeaders, [['X-Only', 'yes']]))
  assert.deepEqual({ ...ctx.headers }, { 'x-only': 'yes' })
})

test('response headers: :status writable, repeated names joined on read, replace drops every line', () => {
  const ctx = ctxOf()
  assert.equal(valueOf(ctx, MapType.responseHeaders, 'vary'), 'a, b')
  assert.ok(editMap(ctx, MapType.responseHeaders, 'replace', ':status', '418'))
  assert.equal(ctx.status, 418)
  assert.ok(editMap(ctx, MapType.responseHeaders, 'replace', 'vary', 'c'))
  assert.deepEqual(ctx.responseHeaders, [['content-type', 'application/json'], ['vary', 'c']])
  assert.ok(editMap(ctx, MapType.responseHeaders, 'add', 'Content-Length', '1'))
  assert.equal(valueOf(ctx, MapType.responseHeaders, 'content-length'), undefined, 'framing stays the gateway\'s')
  assert.equal(pairsOf(ctx, 9), undefined, 'an unknown map type')
  assert.deepEqual(pairsOf(ctx, MapType.responseTrailers), [])
})
