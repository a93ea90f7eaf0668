/**
 * The attempt lifecycle as an observer hears it, through in-process dispatch against real HTTP
 * upstreams: each attempt's start, response, chunks and end or failure (with what follows it), for
 * a plain success, a retried 503, a fallback and a stream that breaks mid-answer and is continued.
 */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../../src/runtime/build/snapshot.js'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import { createStores } from '../../../src/runtime/stores.js'
import { NO_ATTEMPT_OBSERVERS, compileAttemptObservers } from '../../../src/runtime/upstream/attempt-events.js'
import type { AttemptObserver, CompiledListener, Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { openAICompletion, sseData, startScriptedUpstream, type ScriptedUpstream } from '../../support/scripted-upstream.js'

async function setup(t: TestContext): Promise<{ snap: Snapshot; a: ScriptedUpstream; b: ScriptedUpstream }> {
  const a = await startScriptedUpstream()
  const b = await startScriptedUpstream()
  const r = compileConfig([{ name: 'events.yaml', text: `
admin: { port: 0 }
listeners: [{ name: api, port: 8080, route_table: main }]
routes:
  - name: main
    rules:
      - name: retry
        match: { headers: [{ name: x-case, exact: retry }] }
        cluster: a
        retry_policy: { retry_on: [5xx], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
      - name: fallback
        match: { headers: [{ name: x-case, exact: fallback }] }
        fallback: { clusters: [{ cluster: a }, { cluster: b }], on: [5xx] }
      - name: recover
        match: { headers: [{ name: x-case, exact: recover }] }
        fallback: { clusters: [{ cluster: a }, { cluster: b }] }
        stream_recovery: continue
      - name: plain
        match: { path: { prefix: /v1/ } }
        cluster: a
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${a.url}/v1" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${b.url}/v1" }] }
` }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n'))
  const stores = createStores()
  const snap = buildSnapshot(r.ir, stores)
  t.after(async () => {
    releaseSnapshot(snap, stores)
    await stores.pools.closeAll()
    await a.close()
    await b.close()
  })
  return { snap, a, b }
}

/** An observer writing each event as one line; consecutive chunk events count as one `chunk`. */
function recorder(): AttemptObserver & { events: string[] } {
  const events: string[] = []
  return {
    events,
    onAttemptStart: (_ctx, cluster, _endpoint, n) => void events.push(`start ${cluster.name} #${n}`),
    onResponseStart: (_ctx, status) => void events.push(`response ${status}`),
    onResponseChunk: () => void (events.at(-1) === 'chunk' || events.push('chunk')),
    onAttemptEnd: (ctx, usage) => void events.push(`end ${ctx.status}${usage ? ` usage ${usage.inputTokens}/${usage.outputTokens}` : ''}`),
    onAttemptFailed: (_ctx, f, next) => void events.push(`failed ${f.kind}${'status' in f && f.status ? ` ${f.status}` : ''} → ${next}`),
  }
}

/** The snapshot's listener with `observer` subscribed on every route (what the snapshot builder will do). */
function observed(snap: Snapshot, observer: AttemptObserver): CompiledListener {
  const listener = snap.listeners.get(8080)!
  const attemptObservers = compileAttemptObservers([observer])
  const table = listener.table
  return { ...listener, table: { ...table, match: (h) => { const r = table.match(h); return r && { ...r, attemptObservers } } } }
}

async function chat(snap: Snapshot, observer: AttemptObserver, xCase: string, stream = false) {
  const down = new MemoryDownstream()
  const json = { model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'count' }] }
  dispatch(snap, observed(snap, observer), { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', 'x-case': xCase }, body: Buffer.from(JSON.stringify(json)) }, down)
  await down.done
  return down
}

const chunk = (delta: object, finish: string | null = null) => sseData({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })

describe('an observer hears', () => {
  test('a success: one attempt, its response, its chunks and its end with usage', async (t) => {
    const { snap } = await setup(t)
    const o = recorder()
    const down = await chat(snap, o, 'plain')
    assert.deepStrictEqual([down.status, o.events], [200, ['start a #1', 'response 200', 'chunk', 'end 200 usage 1/1']])
  })

  test('a retried 503: the failure and that it is retried, then the second attempt', async (t) => {
    const { snap, a } = await setup(t)
    let n = 0
    a.answer = (_req, res) => {
      if (n++ === 0) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"busy"}}')
      res.writeHead(200, { 'content-type': 'application/json' }).end(openAICompletion('second'))
    }
    const o = recorder()
    const down = await chat(snap, o, 'retry')
    assert.deepStrictEqual([down.status, o.events], [200, ['start a #1', 'response 503', 'chunk', 'failed status 503 → retry', 'start a #2', 'response 200', 'chunk', 'end 200 usage 1/1']])
  })

  test('a fallback: the first cluster fails over to the second', async (t) => {
    const { snap, a } = await setup(t)
    a.answer = (_req, res) => void res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"bad gateway"}}')
    const o = recorder()
    const down = await chat(snap, o, 'fallback')
    assert.deepStrictEqual([down.status, o.events], [200, ['start a #1', 'response 502', 'chunk', 'failed status 502 → fallback', 'start b #2', 'response 200', 'chunk', 'end 200 usage 1/1']])
  })

  test('a stream broken mid-answer: the reset and its continuation on the next cluster', async (t) => {
    const { snap, a, b } = await setup(t)
    a.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'one, ' }))
      setTimeout(() => res.socket?.destroy(), 20)
    }
    b.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'two.' }) + chunk({}, 'stop') + sseData({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }) + 'data: [DONE]\n\n')
    }
    const o = recorder()
    const down = await chat(snap, o, 'recover', true)
    assert.deepStrictEqual([down.status, o.events], [200, ['start a #1', 'response 200', 'chunk', 'failed reset → continue', 'start b #2', 'response 200', 'chunk', 'end 200 usage 3/2']])
  })

  test('nothing, when nobody subscribes: the request shares the empty lists', async (t) => {
    const { snap } = await setup(t)
    const down = new MemoryDownstream()
    const ctx = dispatch(snap, snap.listeners.get(8080)!, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"model":"m","messages":[]}') }, down)
    await down.done
    assert.deepStrictEqual([ctx.attemptObservers === NO_ATTEMPT_OBSERVERS, compileAttemptObservers([]) === NO_ATTEMPT_OBSERVERS], [true, true])
  })
})

test('an observer that throws is skipped: the request is answered', async (t) => {
  const { snap } = await setup(t)
  const down = await chat(snap, { onResponseStart: () => { throw new Error('metrics bug') } }, 'plain')
  assert.equal(down.status, 200)
})
