/**
 * `cache` filter, in-process: the real snapshot (compiled config, mock provider) dispatched
 * socket-free, so each case sees exactly what the client would and counts the provider's answers.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch, type IncomingRequest } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { cacheFilterConfig } from '../../support/cache-filter-config.js'
import { builtSnapshot } from '../../support/built-snapshot.js'
import { compileConfig } from '../../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../../src/runtime/build/snapshot.js'
import { createStores } from '../../../src/runtime/stores.js'

const config = cacheFilterConfig

function send(snap: Snapshot, body: object, headers: Record<string, string> = {}) {
  const incoming: IncomingRequest = { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) }
  const down = new MemoryDownstream()
  const ctx = dispatch(snap, snap.listeners.get(8080)!, incoming, down)
  return { ctx, down }
}

const header = (down: MemoryDownstream, name: string) => down.headers.find(([k]) => k === name)?.[1]
const ask = (extra: object = {}) => ({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'hello' }], ...extra })

async function answer(snap: Snapshot, body: object, headers: Record<string, string> = {}) {
  const { down } = send(snap, body, headers)
  await down.done
  return { cache: header(down, 'x-switchyard-cache'), age: header(down, 'age'), text: down.text(), status: down.status }
}

test('a repeated deterministic request is answered from the cache', async (t: TestContext) => {
  const snap = builtSnapshot(t, 'cache.yaml', config('{}'))
  const first = await answer(snap, ask())
  const second = await answer(snap, ask())
  assert.deepStrictEqual([first.cache, second.cache, second.age], ['miss', 'hit', '0'])
  assert.equal(JSON.parse(second.text).choices[0].message.content, 'Cached words.')
})

/** Two snapshots built on the same stores: what a reload does. */
function reloadPair(t: TestContext, before: string, after: string): [Snapshot, Snapshot] {
  const stores = createStores()
  const build = (text: string) => {
    const r = compileConfig([{ name: 'cache.yaml', text }], { source: 'test', env: {} })
    assert.ok(r.ok, JSON.stringify(!r.ok && r.diagnostics))
    const snap = buildSnapshot(r.ir, stores)
    t.after(() => releaseSnapshot(snap, stores))
    return snap
  }
  return [build(before), build(after)]
}

test('a reload keeps the entries; a changed cache config starts its namespace afresh', async (t) => {
  const [a, same] = reloadPair(t, config('{ ttl: 10m }'), config('{ ttl: 10m }', '{ reply: "Cached words.", chunks: 2 }'))
  assert.equal((await answer(a, ask())).cache, 'miss')
  assert.equal((await answer(same, ask())).cache, 'hit', 'another cluster setting, the same cache config')
  const [b, changed] = reloadPair(t, config('{ ttl: 10m }'), config('{ ttl: 20m }'))
  await answer(b, ask())
  assert.equal((await answer(changed, ask())).cache, 'miss')
})

test('an answer larger than max_entry_size is not stored', async (t) => {
  const snap = builtSnapshot(t, 'cache.yaml', config('{ max_entry_size: 100b }'))
  assert.deepStrictEqual([(await answer(snap, ask())).cache, (await answer(snap, ask())).cache], ['miss', 'miss'])
})

test('a streamed hit is a well-formed OpenAI stream: role, text, finish, usage with cached tokens, [DONE]', async (t) => {
  const snap = builtSnapshot(t, 'cache.yaml', config('{}'))
  await answer(snap, ask())
  const { down } = send(snap, ask({ stream: true, stream_options: { include_usage: true } }))
  await down.done
  const data = down.sseData()
  assert.equal(data.at(-1), '[DONE]')
  const events = data.slice(0, -1).map((d) => JSON.parse(d))
  assert.equal(events[0].choices[0].delta.role, 'assistant')
  assert.equal(events.map((e) => e.choices[0]?.delta?.content ?? '').join(''), 'Cached words.')
  assert.equal(events.filter((e) => e.choices[0]?.finish_reason === 'stop').length, 1)
  assert.deepStrictEqual(events.at(-1).usage.prompt_tokens_details, { cached_tokens: events.at(-1).usage.prompt_tokens })
  assert.equal(new Set(events.map((e) => e.id)).size, 1)
})

test('the mock provider is called once for 50 concurrent identical misses (single flight)', async (t) => {
  const snap = builtSnapshot(t, 'cache.yaml', config('{}', '{ reply: "Cached words.", latency: 50ms }'))
  const all = await Promise.all(Array.from({ length: 50 }, () => answer(snap, ask())))
  const fromProvider = all.filter((a) => JSON.parse(a.text).id.startsWith('chatcmpl-mock-'))
  assert.deepStrictEqual([fromProvider.length, all.filter((a) => a.cache === 'hit').length], [1, 49])
})

test('with single flight off, concurrent misses each go to the provider', async (t) => {
  const snap = builtSnapshot(t, 'cache.yaml', config('{ single_flight: { enabled: false } }', '{ reply: "Cached words.", latency: 30ms }'))
  const all = await Promise.all(Array.from({ length: 5 }, () => answer(snap, ask())))
  assert.deepStrictEqual(all.map((a) => a.cache), ['miss', 'miss', 'miss', 'miss', 'miss'])
})

test('a hit carries no usage, unless count_hit_tokens: then the original usage, every input token marked cached', async (t) => {
  const usageOfHit = async (cache: string) => {
    const snap = builtSnapshot(t, 'cache.yaml', config(cache))
    const first = send(snap, ask())
    await first.down.done
    const hit = send(snap, ask())
    await hit.down.done
    assert.equal(header(hit.down, 'x-switchyard-cache'), 'hit')
    return { miss: first.ctx.usage, hit: hit.ctx.usage }
  }
  const off = await usageOfHit('{}')
  assert.ok(off.miss !== undefined && off.miss.inputTokens > 0, 'the miss reports the provider usage')
  assert.equal(off.hit, undefined, 'by default a hit costs no tokens and no budget')
  const on = await usageOfHit('{ count_hit_tokens: true }')
  assert.deepStrictEqual(on.hit, { ...on.miss, cachedInputTokens: on.miss!.inputTokens })
})
