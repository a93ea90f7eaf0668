/**
 * `fault` filter: compile the config, then run onRequest on minimal fake contexts with an injected
 * random source and sleep, so percentages and delays are exact and nothing waits.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileFault, create, createFault, type FaultConfig } from '../../../src/runtime/filters/fault.js'
import { filterConfigValidator } from '../../../src/compiler/validate.js'
import { createStores } from '../../../src/runtime/stores.js'
import type { Filter, LocalReply, RequestContext } from '../../../src/runtime/types.js'

function fakeCtx(headers: Record<string, string> = {}, protocol: 'openai' | 'anthropic' = 'openai'): RequestContext {
  return { head: { headers }, headers, protocol } as unknown as RequestContext
}

function build(config: FaultConfig, draws: number[] = []) {
  const slept: number[] = []
  const random = () => {
    if (draws.length === 0) throw new Error('unexpected random draw')
    return draws.shift()!
  }
  const filter = createFault(compileFault(config), { random, sleep: async (ms) => void slept.push(ms) })
  return { filter, slept, draws }
}

function answer(reply: LocalReply | undefined | void) {
  return reply && { status: reply.status, headers: reply.headers, body: JSON.parse(reply.body.toString()) }
}

const abort503 = { abort: { percent: 100, status: 503, message: 'injected outage' } }

// ---- abort ----

test('an abort answers with an OpenAI error body and the configured status', () => {
  const { filter } = build(abort503)
  assert.deepStrictEqual(answer(filter.onRequest!(fakeCtx()) as LocalReply), {
    status: 503,
    headers: [['content-type', 'application/json']],
    body: { error: { message: 'injected outage', type: 'server_error', param: null, code: 'fault_injected' } },
  })
})

test('an abort on an Anthropic route answers in Anthropic error format', () => {
  const { filter } = build({ abort: { percent: 100, status: 429 } })
  assert.deepStrictEqual(answer(filter.onRequest!(fakeCtx({}, 'anthropic')) as LocalReply), {
    status: 429,
    headers: [['content-type', 'application/json']],
    body: { type: 'error', error: { type: 'rate_limit_error', message: 'fault injected' } },
  })
})

test('a 4xx abort is typed as an invalid request in OpenAI format', () => {
  const { filter } = build({ abort: { percent: 100, status: 400 } })
  assert.equal(answer(filter.onRequest!(fakeCtx()) as LocalReply)!.body.error.type, 'invalid_request_error')
})

test('an abort hits requests whose random draw falls under the percentage', () => {
  const { filter } = build({ abort: { percent: 5, status: 503 } }, [0.0499, 0.05])
  assert.deepStrictEqual([filter.onRequest!(fakeCtx()) !== undefined, filter.onRequest!(fakeCtx()) !== undefined], [true, false])
})

test('fractional percentages are honoured', () => {
  const { filter } = build({ abort: { percent: 0.5, status: 503 } }, [0.00499, 0.0051])
  assert.deepStrictEqual([filter.onRequest!(fakeCtx()) !== undefined, filter.onRequest!(fakeCtx()) !== undefined], [true, false])
})

test('100 percent applies without drawing a random number', () => {
  const { filter } = build(abort503, [])
  assert.notEqual(filter.onRequest!(fakeCtx()), undefined)
})

// ---- delay ----

test('a delay returns a promise that resolves to continue after sleeping the duration', async () => {
  const { filter, slept } = build({ delay: { percent: 100, duration: '1.5s' } })
  const result = filter.onRequest!(fakeCtx())
  assert.ok(result instanceof Promise)
  assert.deepStrictEqual([await result, slept], [undefined, [1500]])
})

test('a request the delay misses continues synchronously', () => {
  const { filter, slept } = build({ delay: { percent: 10, duration: '1s' } }, [0.5])
  assert.deepStrictEqual([filter.onRequest!(fakeCtx()), slept], [undefined, []])
})

test('with both hitting, the request is delayed and then aborted', async () => {
  const { filter, slept } = build({ delay: { percent: 50, duration: '200ms' }, ...abort503 }, [0.1])
  const reply = await filter.onRequest!(fakeCtx())
  assert.deepStrictEqual({ status: (reply as LocalReply).status, slept }, { status: 503, slept: [200] })
})

test('delay and abort are drawn independently', async () => {
  const { filter, slept } = build({ delay: { percent: 50, duration: '200ms' }, abort: { percent: 50, status: 500 } }, [0.9, 0.1])
  const reply = filter.onRequest!(fakeCtx())
  assert.deepStrictEqual({ status: (reply as LocalReply).status, slept }, { status: 500, slept: [] })
})

test('the default sleep really waits', async () => {
  const f = create({ delay: { percent: 100, duration: '30ms' } }, { stores: createStores() })
  const started = performance.now()
  await f.onRequest!(fakeCtx())
  assert.ok(performance.now() - started >= 25)
})

// ---- only_with_header ----

test('with only_with_header, requests without the header pass untouched and draw nothing', () => {
  const { filter } = build({ ...abort503, delay: { percent: 50, duration: '1s' }, only_with_header: 'X-Chaos' }, [])
  assert.equal(filter.onRequest!(fakeCtx({ 'x-other': '1' })), undefined)
})

test('with only_with_header, requests carrying the header get the fault whatever its value', () => {
  const { filter } = build({ ...abort503, only_with_header: 'X-Chaos' })
  assert.equal((filter.onRequest!(fakeCtx({ 'x-chaos': '' })) as LocalReply).status, 503)
})

// ---- factory ----

test('compileFault converts durations and lower-cases the header name', () => {
  assert.deepStrictEqual(compileFault({ delay: { percent: 10, duration: '2s' }, abort: { percent: 1, status: 502 }, only_with_header: 'X-Chaos' }), {
    delay: { percent: 10, ms: 2000 },
    abort: { percent: 1, status: 502, message: 'fault injected' },
    onlyWithHeader: 'x-chaos',
  })
})

test('a config without faults (or at 0 percent) has no hooks, so the chain skips it', () => {
  const hooks = (f: Filter) => [f.onRequest, f.onResponse, f.onChunk, f.onComplete]
  const none = [undefined, undefined, undefined, undefined]
  assert.deepStrictEqual([hooks(build({}).filter), hooks(build({ abort: { percent: 0, status: 503 }, delay: { percent: 0, duration: '1s' } }).filter)], [none, none])
})

test('one instance serves many requests with the same prebuilt reply', () => {
  const { filter } = build(abort503)
  assert.equal(filter.onRequest!(fakeCtx()), filter.onRequest!(fakeCtx()))
})

// ---- schema ----

test('the schema fills defaults: 100 percent, status 503, the default message', () => {
  const validate = filterConfigValidator('fault')!
  const config = { delay: { duration: '1s' }, abort: {} }
  assert.deepStrictEqual([validate(config), config], [true, { delay: { duration: '1s', percent: 100 }, abort: { percent: 100, status: 503, message: 'fault injected' } }])
})

test('the schema rejects a delay without duration, a bad duration, a percentage over 100 and a non-error status', () => {
  const validate = filterConfigValidator('fault')!
  const bad = [{ delay: { percent: 5 } }, { delay: { duration: '1 s' } }, { abort: { percent: 101 } }, { abort: { status: 200 } }, { only_with_header: 'bad header' }, { abrt: {} }]
  assert.deepStrictEqual(bad.map((c) => validate(c)), [false, false, false, false, false, false])
})
