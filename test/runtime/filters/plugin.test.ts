/**
 * `plugin` filter, unit level: create() over a real module file, hooks run on a small fake
 * RequestContext. What a plugin sees (the PluginContext facade and nothing else), how its replies
 * become answers in the caller's protocol, and how a failing hook becomes a PluginFailure that is
 * counted, with the plugin's later hooks for that request skipped.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { create } from '../../../src/runtime/filters/plugin.js'
import { loadPluginModules } from '../../../src/runtime/plugins/js/modules.js'
import { PluginFailure } from '../../../src/runtime/plugins/js/failure.js'
import { pluginErrorFamily } from '../../../src/runtime/plugins/js/plugin-errors.js'
import { createStores } from '../../../src/runtime/stores.js'
import type { Filter, LocalReply, RequestContext } from '../../../src/runtime/types.js'
import { pluginDir, writePlugin } from '../../support/plugin-modules.js'

const dir = pluginDir()
let n = 0

/** A plugin filter from module source (each call its own file). */
async function plugin(source: string, options: Record<string, unknown> = {}, name = `p${++n}`): Promise<Filter> {
  const url = writePlugin(dir, `${name}.mjs`, source)
  await loadPluginModules([url])
  return create({ module: url, options, name }, { stores: createStores() })
}

function fakeCtx(over: Partial<RequestContext> = {}): RequestContext {
  const json = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }
  return {
    id: 'r1', requestId: 'req-1', protocol: 'openai', snapshot: { secret: true }, listener: { name: 'l' },
    head: { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'x-a': '1' }, model: 'gpt-4o', identity: { tenant: 'acme', labels: { tier: 'gold' }, via: 'api_key', keyId: 'k1', claims: undefined } },
    headers: { 'x-a': '1' }, json, body: Buffer.from(JSON.stringify(json)), route: { name: 'chat' }, cluster: { name: 'mock' },
    responseHeaders: [], status: 0, usage: undefined, servedModel: undefined, filterState: undefined,
    ...over,
  } as unknown as RequestContext
}

const seen = (source: string) => `export function create() { return { onRequest(ctx) { globalThis.__seen = ${source} } } }`

test('the facade shows the documented fields', async () => {
  const f = await plugin(seen(`{ requestId: ctx.requestId, method: ctx.method, path: ctx.path, protocol: ctx.protocol, headers: ctx.headers, model: ctx.body.model,
    tenant: ctx.tenant, identity: ctx.identity, route: ctx.route, cluster: ctx.cluster, requested: ctx.model, status: ctx.status, streaming: ctx.streaming, usage: ctx.usage }`))
  assert.equal(f.onRequest!(fakeCtx()), undefined)
  assert.deepStrictEqual((globalThis as any).__seen, {
    requestId: 'req-1', method: 'POST', path: '/v1/chat/completions', protocol: 'openai', headers: { 'x-a': '1' }, model: 'gpt-4o',
    tenant: 'acme', identity: { tenant: 'acme', labels: { tier: 'gold' }, via: 'api_key', keyId: 'k1', claims: undefined }, route: 'chat', cluster: 'mock', requested: 'gpt-4o', status: 0, streaming: false, usage: undefined,
  })
})

test('runtime internals are not reachable from the facade', async () => {
  const f = await plugin(seen(`{ keys: Object.keys(ctx), snapshot: ctx.snapshot, listener: ctx.listener, internals: ctx.ctx, frozen: Object.isFrozen(ctx.headers) && Object.isFrozen(ctx.identity) }`))
  f.onRequest!(fakeCtx())
  const s = (globalThis as any).__seen
  assert.equal(s.snapshot, undefined)
  assert.equal(s.listener, undefined)
  assert.equal(s.frozen, true)
  // TypeScript's `private` is not privacy: nothing of the runtime may hang off the facade under any key.
  assert.deepStrictEqual(s.keys, [])
  assert.equal(s.internals, undefined)
})

test('one facade per request and plugin: state persists across hooks, not across requests', async () => {
  const f = await plugin(`export function create() { return {
    onRequest(ctx) { ctx.state.n = (ctx.state.n ?? 0) + 1 },
    onChunk(ctx) { ctx.state.n++ ; globalThis.__n = ctx.state.n },
  } }`)
  const a = fakeCtx()
  f.onRequest!(a)
  f.onChunk!(a, Buffer.from('x'))
  f.onChunk!(a, Buffer.from('y'))
  assert.equal((globalThis as any).__n, 3)
  const b = fakeCtx()
  f.onRequest!(b)
  f.onChunk!(b, Buffer.from('x'))
  assert.equal((globalThis as any).__n, 2)
})

test('only the hooks the plugin defines are installed', async () => {
  const f = await plugin('export function create() { return { onChunk() {} } }')
  assert.deepStrictEqual(Object.keys(f).sort(), ['name', 'onChunk'])
})

test('setBody sends the new body upstream; setHeader changes a forwarded header; both only in onRequest', async () => {
  const f = await plugin(`export function create() { return {
    onRequest(ctx) { const b = ctx.body; b.messages[0].content = 'changed'; ctx.setBody(b); ctx.setHeader('X-Team', 'search'); ctx.setHeader('x-a', undefined) },
    onResponse(ctx) { try { ctx.setHeader('x-late', '1') } catch (e) { globalThis.__late = e.message } },
  } }`)
  const ctx = fakeCtx()
  f.onRequest!(ctx)
  assert.deepStrictEqual(JSON.parse(ctx.body!.toString()).messages, [{ role: 'user', content: 'changed' }])
  assert.equal(ctx.json.messages[0].content, 'changed')
  assert.deepStrictEqual(ctx.headers, { 'x-team': 'search' })
  f.onResponse!(ctx)
  assert.equal((globalThis as any).__late, 'ctx.setHeader is only allowed in onRequest')
})

test('reply() in onRequest answers in the caller\'s protocol at the chosen status', async () => {
  const f = await plugin("export function create() { return { onRequest(ctx) { return ctx.reply(403, 'no PII here') } } }")
  const openai = f.onRequest!(fakeCtx()) as LocalReply
  assert.equal(openai.status, 403)
  assert.deepStrictEqual(JSON.parse(openai.body.toString()), { error: { message: 'no PII here', type: 'permission_error', param: null, code: 'plugin_refused' } })
  const anthropic = f.onRequest!(fakeCtx({ protocol: 'anthropic' } as Partial<RequestContext>)) as LocalReply
  assert.deepStrictEqual(JSON.parse(anthropic.body.toString()), { type: 'error', error: { type: 'permission_error', message: 'no PII here' } })
})

test('an async onRequest is awaited; its reply counts', async () => {
  const f = await plugin("export function create() { return { async onRequest(ctx) { await new Promise((r) => setTimeout(r, 5)); ctx.setHeader('x-async', 'yes'); ctx.reply(429, 'slow down') } } }")
  const ctx = fakeCtx()
  const r = (await f.onRequest!(ctx)) as LocalReply
  assert.equal(r.status, 429)
  assert.equal(ctx.headers['x-async'], 'yes')
})

function errorCount(plugin: string, hook: string): number {
  return pluginErrorFamily().values.find((v) => v.labels.plugin === plugin && v.labels.hook === hook)?.value ?? 0
}

test('a hook that throws becomes a PluginFailure naming the plugin (not the exception), is counted, and the plugin sits out the rest of that request', async () => {
  const f = await plugin(`export function create() { return {
    onRequest(ctx) { if (ctx.headers['x-boom']) throw new Error('secret prompt text') },
    onComplete() { globalThis.__completed = (globalThis.__completed ?? 0) + 1 },
  } }`, {}, 'boomer')
  const ctx = fakeCtx({ headers: { 'x-boom': '1' } } as Partial<RequestContext>)
  assert.throws(() => f.onRequest!(ctx), (e: unknown) => {
    assert.ok(e instanceof PluginFailure)
    assert.deepStrictEqual([e.code, e.plugin, e.hook, e.message], ['SY_PLUGIN_FAILED', 'boomer', 'onRequest', "plugin 'boomer' failed in onRequest (request r1)"])
    return true
  })
  assert.equal(errorCount('boomer', 'onRequest'), 1)
  ;(globalThis as any).__completed = 0
  f.onComplete!(ctx)
  assert.equal((globalThis as any).__completed, 0, 'no hook of a failed plugin runs again for that request')
  f.onComplete!(fakeCtx())
  assert.equal((globalThis as any).__completed, 1, 'other requests are unaffected')
})

test('a rejected onRequest fails the same way', async () => {
  const f = await plugin("export function create() { return { async onRequest() { throw new TypeError('nope') } } }", {}, 'rejecter')
  await assert.rejects(Promise.resolve(f.onRequest!(fakeCtx())), (e: unknown) => e instanceof PluginFailure && e.code === 'SY_PLUGIN_FAILED')
  assert.equal(errorCount('rejecter', 'onRequest'), 1)
})

test('an invalid reply() status is the plugin\'s error', async () => {
  const f = await plugin("export function create() { return { onRequest(ctx) { ctx.reply(200, 'fine') } } }", {}, 'bad-status')
  assert.throws(() => f.onRequest!(fakeCtx()), PluginFailure)
  assert.equal(errorCount('bad-status', 'onRequest'), 1)
})

test('onChunk sees the text (a character split across chunks is kept) and reply() stops the answer', async () => {
  const f = await plugin(`export function create() { return { onChunk(ctx) {
    ctx.state.text = (ctx.state.text ?? '') + ctx.chunk
    if (ctx.state.text.includes('stop')) ctx.reply(400, 'stopped by guard')
  } } }`)
  const ctx = fakeCtx({ status: 200, responseHeaders: [['content-type', 'text/event-stream']] } as Partial<RequestContext>)
  const euro = Buffer.from('€')
  f.onChunk!(ctx, Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]))
  f.onChunk!(ctx, euro.subarray(1))
  assert.equal((ctx.filterState as any)[Object.keys(ctx.filterState!)[0]].view.state.text, 'a€')
  assert.throws(() => f.onChunk!(ctx, Buffer.from(' stop')), (e: unknown) => e instanceof PluginFailure && e.code === 'SY_PLUGIN_STOPPED' && e.message === 'stopped by guard' && e.hook === 'onChunk')
})

test('onComplete errors are counted, not thrown: the answer is already out', async () => {
  const f = await plugin("export function create() { return { onComplete() { throw new Error('late') } } }", {}, 'late')
  assert.doesNotThrow(() => f.onComplete!(fakeCtx()))
  assert.equal(errorCount('late', 'onComplete'), 1)
})

test('create() gets its options (a copy) and a host; what it returns is checked', async () => {
  const options = { words: ['x'] }
  const f = await plugin("export function create(options, host) { options.words.push('mutated'); globalThis.__host = { name: host.name, v: host.apiVersion, log: typeof host.log }; return {} }", options, 'configured')
  assert.equal(f.name, 'configured')
  assert.deepStrictEqual(options.words, ['x'])
  assert.deepStrictEqual((globalThis as any).__host, { name: 'configured', v: 1, log: 'function' })
  await assert.rejects(plugin('export function create() { return 42 }'), /create\(\) must return an object of hooks/)
  await assert.rejects(plugin("export function create() { return { onChunk: 'no' } }"), /create\(\) returned a onChunk that is not a function/)
})

test('a rule override cannot replace a plugin\'s config', () => {
  assert.throws(() => create({ module: './x.mjs', options: {}, name: 'p' }, { stores: createStores() }), /cannot be replaced by a rule's filter_overrides/)
})
