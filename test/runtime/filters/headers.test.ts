/**
 * `headers` filter, unit level: create(config) once, then its hooks on a minimal fake context
 * holding only what the filter touches (request headers, response headers).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { create, type HeadersConfig } from '../../../src/runtime/filters/headers.js'
import { createStores } from '../../../src/runtime/stores.js'
import type { Filter, RequestContext } from '../../../src/runtime/types.js'

const build = (config: HeadersConfig): Filter => create(config, { stores: createStores() })

function fakeCtx(headers: Record<string, string> = {}, responseHeaders: [string, string][] = []): RequestContext {
  return { headers, responseHeaders } as unknown as RequestContext
}

function onRequest(config: HeadersConfig, headers: Record<string, string>): Record<string, string> {
  const ctx = fakeCtx(headers)
  const result = build(config).onRequest!(ctx)
  assert.equal(result, undefined, 'the headers filter never answers a request itself')
  return ctx.headers
}

function onResponse(config: HeadersConfig, headers: [string, string][]): [string, string][] {
  const ctx = fakeCtx({}, headers)
  build(config).onResponse!(ctx)
  return ctx.responseHeaders
}

// ---- request ----

test('request set adds a header that was absent', () => {
  assert.deepStrictEqual(onRequest({ request: { set: [{ name: 'x-team', value: 'search' }] } }, {}), { 'x-team': 'search' })
})

test('request set replaces an existing value', () => {
  assert.deepStrictEqual(onRequest({ request: { set: [{ name: 'x-team', value: 'search' }] } }, { 'x-team': 'ads' }), { 'x-team': 'search' })
})

test('request header names in the config are lower-cased', () => {
  assert.deepStrictEqual(onRequest({ request: { set: [{ name: 'X-Team', value: 'search' }] } }, { 'x-team': 'ads' }), { 'x-team': 'search' })
})

test('request add appends to an existing value comma-joined', () => {
  assert.deepStrictEqual(onRequest({ request: { add: [{ name: 'x-trace', value: 'gw' }] } }, { 'x-trace': 'client' }), { 'x-trace': 'client, gw' })
})

test('request add of the same header twice appends both values in order', () => {
  const config = { request: { add: [{ name: 'x-hop', value: '1' }, { name: 'x-hop', value: '2' }] } }
  assert.deepStrictEqual(onRequest(config, {}), { 'x-hop': '1, 2' })
})

test('request remove deletes a header whatever case the config uses', () => {
  assert.deepStrictEqual(onRequest({ request: { remove: ['X-Debug'] } }, { 'x-debug': '1', keep: 'y' }), { keep: 'y' })
})

test('request ops apply in order remove, set, add', () => {
  const config = {
    request: { add: [{ name: 'x-a', value: 'added' }], set: [{ name: 'x-a', value: 'set' }], remove: ['x-a'] },
  }
  assert.deepStrictEqual(onRequest(config, { 'x-a': 'client' }), { 'x-a': 'set, added' })
})

// ---- response ----

test('response set replaces an existing header whatever its case', () => {
  const config = { response: { set: [{ name: 'Content-Type', value: 'text/plain' }] } }
  assert.deepStrictEqual(onResponse(config, [['Content-Type', 'application/json'], ['x-keep', '1']]), [['x-keep', '1'], ['content-type', 'text/plain']])
})

test('response add keeps existing values of the same header', () => {
  const config = { response: { add: [{ name: 'set-cookie', value: 'b=2' }] } }
  assert.deepStrictEqual(onResponse(config, [['set-cookie', 'a=1']]), [['set-cookie', 'a=1'], ['set-cookie', 'b=2']])
})

test('response remove drops every occurrence whatever its case', () => {
  const config = { response: { remove: ['set-cookie'] } }
  assert.deepStrictEqual(onResponse(config, [['Set-Cookie', 'a=1'], ['x-keep', '1'], ['set-cookie', 'b=2']]), [['x-keep', '1']])
})

test('response ops apply in order remove, set, add', () => {
  const config = { response: { remove: ['x-a'], set: [{ name: 'x-b', value: 'set' }], add: [{ name: 'x-b', value: 'added' }] } }
  assert.deepStrictEqual(onResponse(config, [['x-a', '1'], ['x-b', 'upstream']]), [['x-b', 'set'], ['x-b', 'added']])
})

test('one filter instance serves many requests without carrying headers over', () => {
  const f = build({ response: { add: [{ name: 'x-hop', value: '1' }] } })
  const outputs = [0, 1, 2].map(() => {
    const ctx = fakeCtx({}, [['content-type', 'application/json']])
    f.onResponse!(ctx)
    return ctx.responseHeaders
  })
  assert.deepStrictEqual(outputs, [0, 1, 2].map(() => [['content-type', 'application/json'], ['x-hop', '1']]))
})

// ---- factory ----

test('a config without request ops has no onRequest hook, so the chain skips it', () => {
  const f = build({ response: { set: [{ name: 'x', value: 'y' }] } })
  assert.deepStrictEqual({ onRequest: f.onRequest, onResponse: typeof f.onResponse }, { onRequest: undefined, onResponse: 'function' })
})

test('a config with empty op lists has no hooks at all', () => {
  const f = build({ request: { set: [], add: [], remove: [] }, response: {} })
  assert.deepStrictEqual({ onRequest: f.onRequest, onResponse: f.onResponse, onChunk: f.onChunk, onComplete: f.onComplete }, {
    onRequest: undefined, onResponse: undefined, onChunk: undefined, onComplete: undefined,
  })
})

test('create rejects a header value containing CR or LF, naming the header', () => {
  assert.throws(() => build({ request: { set: [{ name: 'X-Team', value: 'a\r\nx-injected: 1' }] } }), {
    message: "header 'x-team': value must not contain CR, LF or NUL",
  })
})

test('create rejects a NUL byte in an added response header value', () => {
  assert.throws(() => build({ response: { add: [{ name: 'x-a', value: 'a\0b' }] } }), /header 'x-a': value must not contain CR, LF or NUL/)
})

test('the rejection message does not repeat the offending value', () => {
  const value = 'sk-SECRET-in-header\nx'
  assert.throws(() => build({ request: { set: [{ name: 'authorization', value }] } }), (e: Error) => !e.message.includes('sk-SECRET'))
})
