/**
 * The example plugins (examples/plugins/) as shipped: examples/plugins.yaml compiles the way the
 * gateway compiles it (modules imported, options checked, dry build), and each plugin does what
 * its comment says on a fake request (the integration test runs them in a real gateway).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { formatDiagnostic, readPathSources } from '../../../../src/compiler/index.js'
import { compileWithPlugins } from '../../../../src/control/compile-plugins.js'
import { dryBuild } from '../../../../src/runtime/build/dry-build.js'
import { create } from '../../../../src/runtime/filters/plugin.js'
import { loadPluginModules } from '../../../../src/runtime/plugins/js/modules.js'
import { PluginFailure } from '../../../../src/runtime/plugins/js/failure.js'
import { createStores } from '../../../../src/runtime/stores.js'
import type { Filter, RequestContext } from '../../../../src/runtime/types.js'
import { pluginUrl } from '../../../support/plugin-modules.js'
import { repoRoot } from '../../../support/repo-root.js'

test('examples/plugins.yaml compiles with its plugins loaded and their options checked', async () => {
  const r = await compileWithPlugins(readPathSources(join(repoRoot, 'examples/plugins.yaml')), { source: 'file:examples/plugins.yaml', dryBuild })
  assert.deepStrictEqual(r.diagnostics.map(formatDiagnostic), [])
  assert.ok(r.ok)
  const guard = r.ir.filters.find((f) => f.name === 'keyword-guard')!
  assert.match(String(guard.config.module), /^file:\/\/.*\/examples\/plugins\/keyword-guard\.mjs\?v=[0-9a-f]{16}$/)
})

async function example(name: string, options: Record<string, unknown>): Promise<Filter> {
  const url = pluginUrl(join(repoRoot, 'examples/plugins', name))
  await loadPluginModules([url])
  return create({ module: url, options, name }, { stores: createStores() })
}

const ctxWith = (json: unknown): RequestContext =>
  ({ id: 'r', requestId: 'r', protocol: 'openai', head: { method: 'POST', path: '/v1/chat/completions', headers: {} }, headers: {}, json, body: Buffer.from(JSON.stringify(json)), responseHeaders: [['content-type', 'text/event-stream']], status: 200 }) as unknown as RequestContext

test('pii-redactor: e-mail, phone and Luhn-valid card numbers are masked; other numbers are not', async () => {
  const f = await example('pii-redactor.mjs', { replacement: '<{kind}>', kinds: ['email', 'phone', 'card'] })
  const ctx = ctxWith({ messages: [
    { role: 'user', content: 'a.b+c@mail.example.co.uk, +44 20 7946 0958, 5555-5555-5555-4444, 4111 1111 1111 1112, order 12345, 2026-12-03' },
    { role: 'user', content: [{ type: 'text', text: 'x@y.io' }, { type: 'image_url', image_url: { url: 'http://img' } }] },
  ] })
  f.onRequest!(ctx)
  const sent = JSON.parse(ctx.body!.toString())
  assert.equal(sent.messages[0].content, '<email>, <phone>, <card>, 4111 1111 1111 1112, order 12345, 2026-12-03')
  assert.deepStrictEqual(sent.messages[1].content, [{ type: 'text', text: '<email>' }, { type: 'image_url', image_url: { url: 'http://img' } }])
})

test('pii-redactor: a body with nothing to mask is sent as it came (not re-serialized)', async () => {
  const f = await example('pii-redactor.mjs', { replacement: '[x]', kinds: ['email'] })
  const ctx = ctxWith({ messages: [{ role: 'user', content: 'call +1 415 555 2671' }] })
  const before = ctx.body
  f.onRequest!(ctx)
  assert.equal(ctx.body, before)
})

const sse = (text: string) => Buffer.from(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`)

test('keyword-guard: a banned word split across chunks stops the stream; case does not matter; a longer word containing it passes', async () => {
  const f = await example('keyword-guard.mjs', { words: ['classified'], message: 'blocked' })
  const ok = ctxWith({})
  for (const piece of ['This is declassified ', 'and fine.']) f.onChunk!(ok, sse(piece))
  const hit = ctxWith({})
  f.onChunk!(hit, sse('It is CLASS'))
  assert.throws(() => f.onChunk!(hit, sse('IFIED.')), (e: unknown) => e instanceof PluginFailure && e.code === 'SY_PLUGIN_STOPPED' && e.message === 'blocked')
})

test('keyword-guard: Anthropic text deltas are read too', async () => {
  const f = await example('keyword-guard.mjs', { words: ['top secret'], message: 'blocked' })
  const ctx = ctxWith({})
  const frame = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'this is top secret' } })}\n\n`
  assert.throws(() => f.onChunk!(ctx, Buffer.from(frame)), PluginFailure)
})
