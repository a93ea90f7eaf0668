/**
 * Retries and fail-over for one request (Attempts), with hand-built clusters whose provider records
 * each attempt instead of calling an upstream: which cluster and endpoint each attempt goes to,
 * with what timeout and model, when a failure is taken over, and the limits on retries.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { eventually } from '../../support/eventually.js'
import { Attempts, type Candidate } from '../../../src/runtime/upstream/attempts.js'
import { compileConditions } from '../../../src/runtime/resilience/retry.js'
import { continuationRequest } from '../../../src/runtime/upstream/stream-recovery.js'
import { NO_ATTEMPT_OBSERVERS } from '../../../src/runtime/upstream/attempt-events.js'
import type { CompiledCluster, CompiledRetry, CompiledRoute, RequestContext, UpstreamFailure } from '../../../src/runtime/types.js'
import { fakeCluster, fakeGuard } from '../../support/fake-cluster.js'

/** A retry policy on `on` with no backoff, so a retry is forwarded at once. */
function retry(on: string[], numRetries: number, extra: Partial<CompiledRetry> = {}): CompiledRetry {
  const c = compileConditions(on)
  return { retryOn: c.test, statuses: c.statuses, numRetries, perTryTimeoutMs: undefined, baseIntervalMs: 0, maxIntervalMs: 0, retryAfterCapMs: 1000, ...extra }
}

function route(over: Partial<CompiledRoute> = {}): CompiledRoute {
  return { name: 'r', timeoutMs: undefined, retry: undefined, fallbackOn: undefined, streamRecovery: 'error', ...over } as CompiledRoute
}

interface Sent {
  readonly cluster: string
  readonly endpoint: string
  readonly timeoutMs: number
  /** The request's model as the provider got it (a fallback's model rewrite applied). */
  readonly model: string
}

interface Run {
  readonly attempts: Attempts
  readonly ctx: RequestContext
  /** Every attempt forwarded, in order. */
  readonly sent: Sent[]
}

function run(r: CompiledRoute, clusters: (CompiledCluster | Candidate)[], opts: { json?: any; protocol?: 'openai' | 'anthropic'; path?: string } = {}): Run {
  const json = opts.json ?? { model: 'm', messages: [{ role: 'user', content: 'hi' }] }
  const ctx = {
    finished: false,
    downstream: { aborted: false },
    protocol: opts.protocol ?? 'openai',
    head: { method: 'POST', path: opts.path ?? '/v1/chat/completions', query: '', headers: {}, model: json.model },
    json,
    body: Buffer.from(JSON.stringify(json)),
    cluster: undefined,
    endpoint: undefined,
    route: r,
    attempt: undefined,
    attemptObservers: NO_ATTEMPT_OBSERVERS,
  } as unknown as RequestContext
  const sent: Sent[] = []
  // Each cluster's provider records the attempt it is given.
  const recording = (c: CompiledCluster): CompiledCluster => ({
    ...c,
    provider: { forward: (ctx, endpoint, timeoutMs) => void sent.push({ cluster: c.name, endpoint: endpoint.name, timeoutMs, model: ctx.json.model }) },
  })
  const candidates = clusters.map((c) => ('cluster' in c ? { ...c, cluster: recording(c.cluster) } : { cluster: recording(c), modelRewrite: undefined }))
  const attempts = new Attempts(ctx, r, candidates)
  ctx.attempt = attempts
  attempts.start()
  return { attempts, ctx, sent }
}

const where = (sent: Sent[]) => sent.map((s) => `${s.cluster}/${s.endpoint}`)
const s503: UpstreamFailure = { kind: 'status', status: 503 }
const reset: UpstreamFailure = { kind: 'reset' }

describe('the first attempt', () => {
  test('start() forwards once, to the first candidate, and records its cluster and endpoint on the request', () => {
    const { sent, ctx, attempts } = run(route(), [fakeCluster({ name: 'p', endpoints: ['a', 'b'] })])
    assert.deepStrictEqual([where(sent), ctx.cluster?.name, ctx.endpoint?.name, attempts.attempts], [['p/a'], 'p', 'a', 1])
  })

  test("the attempt gets the route's whole timeout", () => {
    const { sent } = run(route({ timeoutMs: 5000 }), [fakeCluster({ timeoutMs: 60_000 })])
    assert.ok(sent[0].timeoutMs <= 5000 && sent[0].timeoutMs > 4900, String(sent[0].timeoutMs))
  })

  test("without a route timeout the first cluster's timeout is the request's budget", () => {
    const { sent } = run(route(), [fakeCluster({ timeoutMs: 7000 })])
    assert.ok(sent[0].timeoutMs <= 7000 && sent[0].timeoutMs > 6900, String(sent[0].timeoutMs))
  })

  test('per_try_timeout caps the timeout of each attempt', () => {
    const { sent } = run(route({ timeoutMs: 5000, retry: retry(['5xx'], 1, { perTryTimeoutMs: 200 }) }), [fakeCluster()])
    assert.equal(sent[0].timeoutMs, 200)
  })

  test("a fallback candidate's model rewrite is passed to its attempt", () => {
    const { sent } = run(route(), [{ cluster: fakeCluster(), modelRewrite: 'gpt-4o-mini' }])
    assert.equal(sent[0].model, 'gpt-4o-mini')
  })
})

describe('retries', () => {
  test('a failure the policy retries is taken over and retried on another endpoint', () => {
    const { attempts, sent } = run(route({ retry: retry(['5xx'], 2) }), [fakeCluster({ name: 'p', endpoints: ['a', 'b'], lbOrder: ['a', 'a', 'a', 'a', 'b'] })])
    assert.equal(attempts.takeOver(s503), true)
    assert.deepStrictEqual([where(sent), attempts.attempts], [['p/a', 'p/b'], 2])
  })

  test('retries stop after num_retries', () => {
    const { attempts } = run(route({ retry: retry(['5xx'], 2) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    assert.deepStrictEqual([attempts.takeOver(s503), attempts.takeOver(s503), attempts.takeOver(s503)], [true, true, false])
  })

  test('a failure the policy does not name is not retried', () => {
    const { attempts, sent } = run(route({ retry: retry(['5xx'], 2) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    assert.deepStrictEqual([attempts.takeOver(reset), sent.length], [false, 1])
  })

  test("without a route policy the tried cluster's default policy applies", () => {
    const { attempts } = run(route(), [fakeCluster({ endpoints: ['a', 'b'], retry: retry(['reset'], 1) })])
    assert.equal(attempts.takeOver(reset), true)
  })

  test("the route's policy replaces the cluster's default", () => {
    const { attempts } = run(route({ retry: retry(['5xx'], 1) }), [fakeCluster({ endpoints: ['a', 'b'], retry: retry(['reset'], 1) })])
    assert.equal(attempts.takeOver(reset), false)
  })

  test('an overflowing cluster is never retried', () => {
    const { attempts } = run(route({ retry: retry(['5xx', 'reset', 'connect_failure', 'timeout'], 3) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    assert.equal(attempts.takeOver({ kind: 'overflow' }), false)
  })

  test('a Retry-After within the cap is waited for before the retry', async () => {
    const { attempts, sent } = run(route({ retry: retry(['429'], 1) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    assert.equal(attempts.takeOver({ kind: 'status', status: 429, retryAfter: '0.05' }), true)
    assert.equal(sent.length, 1, 'retried before the Retry-After elapsed')
    await eventually(() => sent.length === 2, undefined, 'the retry after the Retry-After')
    assert.equal(sent.length, 2)
  })

  test('a Retry-After beyond the cap is not waited for: no retry', () => {
    const { attempts, sent } = run(route({ retry: retry(['429'], 1, { retryAfterCapMs: 1000 }) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    assert.deepStrictEqual([attempts.takeOver({ kind: 'status', status: 429, retryAfter: '30' }), sent.length], [false, 1])
  })

  test('a retry that could not finish before the deadline is not made', async () => {
    const { attempts } = run(route({ timeoutMs: 5, retry: retry(['5xx'], 3) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    // Time itself is the condition (the 5 ms deadline must have passed): a longer wait only makes it surer.
    await sleep(20)
    assert.equal(attempts.takeOver(s503), false)
  })

  test('nothing is taken over once the client went away', () => {
    const r = run(route({ retry: retry(['5xx'], 3) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    ;(r.ctx.downstream as { aborted: boolean }).aborted = true
    assert.equal(r.attempts.takeOver(s503), false)
  })

  test('nothing is taken over once the response finished', () => {
    const r = run(route({ retry: retry(['5xx'], 3) }), [fakeCluster({ endpoints: ['a', 'b'] })])
    r.ctx.finished = true
    assert.equal(r.attempts.takeOver(s503), false)
  })
})

describe('retry limits', () => {
  test('max_retries caps the retries in flight on a cluster: beyond it a retry is refused and counted as an overflow', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], maxRetries: 0 })
    const { attempts } = run(route({ retry: retry(['5xx'], 3) }), [c])
    assert.deepStrictEqual([attempts.takeOver(s503), c.stats.overflows], [false, 1])
  })

  test('a retry holds one slot of the cluster until release()', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], maxRetries: 5 })
    const { attempts } = run(route({ retry: retry(['5xx'], 3) }), [c])
    attempts.takeOver(s503)
    attempts.takeOver(s503)
    const held = c.stats.retries
    attempts.release()
    assert.deepStrictEqual([held, c.stats.retries], [1, 0])
  })

  test('with a retry budget, min_retry_concurrency retries are allowed before any request paid for one', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], retryBudget: { percent: 20, minRetryConcurrency: 1 } })
    const { attempts } = run(route({ retry: retry(['5xx'], 3) }), [c])
    assert.equal(attempts.takeOver(s503), true)
  })

  test('with an empty retry budget and no minimum, a retry is refused', () => {
    const c = fakeCluster({ endpoints: ['a', 'b'], retryBudget: { percent: 20, minRetryConcurrency: 0 } })
    const { attempts } = run(route({ retry: retry(['5xx'], 3) }), [c])
    assert.deepStrictEqual([attempts.takeOver(s503), c.stats.overflows], [false, 1])
  })
})

describe('fail-over', () => {
  const onFailures = compileConditions(['5xx', 'reset']).test

  test('a failure the fallback list names moves the request to the next cluster, with its model rewrite', () => {
    const { attempts, sent } = run(route({ fallbackOn: onFailures }), [fakeCluster({ name: 'first' }), { cluster: fakeCluster({ name: 'second' }), modelRewrite: 'small' }])
    assert.equal(attempts.takeOver(s503), true)
    assert.deepStrictEqual(sent.map((s) => [s.cluster, s.model]), [['first', 'm'], ['second', 'small']])
  })

  test('a failure the fallback list does not name stays with the cluster', () => {
    const { attempts } = run(route({ fallbackOn: onFailures }), [fakeCluster({ name: 'first' }), fakeCluster({ name: 'second' })])
    assert.equal(attempts.takeOver({ kind: 'timeout' }), false)
  })

  test('the last cluster has nowhere to fail over to', () => {
    const { attempts } = run(route({ fallbackOn: onFailures }), [fakeCluster({ name: 'first' }), fakeCluster({ name: 'second' })])
    assert.deepStrictEqual([attempts.takeOver(s503), attempts.takeOver(s503)], [true, false])
  })

  test('an overflowing cluster is passed over for the next fallback, named or not', () => {
    const { attempts, sent } = run(route({ fallbackOn: compileConditions([]).test }), [fakeCluster({ name: 'first' }), fakeCluster({ name: 'second' })])
    assert.deepStrictEqual([attempts.takeOver({ kind: 'overflow' }), where(sent)], [true, ['first/a', 'second/a']])
  })

  test('retries are used up on a cluster before failing over, and the next cluster gets its own', () => {
    const r = route({ retry: retry(['5xx'], 1), fallbackOn: onFailures })
    const { attempts, sent } = run(r, [fakeCluster({ name: 'first', endpoints: ['a', 'b'] }), fakeCluster({ name: 'second', endpoints: ['a', 'b'] })])
    for (let i = 0; i < 3; i++) assert.equal(attempts.takeOver(s503), true)
    assert.deepStrictEqual([where(sent), attempts.takeOver(s503)], [['first/a', 'first/b', 'second/a', 'second/b'], false])
  })

  test('a cluster with no eligible endpoint is passed over while a later fallback remains', () => {
    const { sent, attempts } = run(route({ fallbackOn: onFailures }), [fakeCluster({ name: 'sick', guard: fakeGuard('a') }), fakeCluster({ name: 'backup' })])
    assert.deepStrictEqual([where(sent), attempts.attempts], [['backup/a'], 1])
  })

  test('the last cluster serves in panic mode when none of its endpoints is eligible', () => {
    const { sent } = run(route({ fallbackOn: onFailures }), [fakeCluster({ name: 'sick', guard: fakeGuard('a') }), fakeCluster({ name: 'sicker', guard: fakeGuard('a') })])
    assert.deepStrictEqual(where(sent), ['sicker/a'])
  })
})

describe('wantsStatus', () => {
  const cases: { name: string; r: CompiledRoute; clusters: number; status: number; wants: boolean }[] = [
    { name: 'a status the retry policy retries is wanted', r: route({ retry: retry(['5xx'], 1) }), clusters: 1, status: 502, wants: true },
    { name: 'a status the retry policy does not retry is not wanted', r: route({ retry: retry(['5xx'], 1) }), clusters: 1, status: 429, wants: false },
    { name: 'with a fallback left, a 5xx is wanted', r: route({ fallbackOn: compileConditions(['5xx']).test }), clusters: 2, status: 500, wants: true },
    { name: 'with a fallback left, a 429 is wanted', r: route({ fallbackOn: compileConditions(['5xx']).test }), clusters: 2, status: 429, wants: true },
    { name: 'with a fallback left, a 400 is wanted (it may be a context-length error)', r: route({ fallbackOn: compileConditions(['5xx']).test }), clusters: 2, status: 400, wants: true },
    { name: 'with a fallback left, a 413 is wanted', r: route({ fallbackOn: compileConditions(['5xx']).test }), clusters: 2, status: 413, wants: true },
    { name: 'with a fallback left, a 404 is not wanted', r: route({ fallbackOn: compileConditions(['5xx']).test }), clusters: 2, status: 404, wants: false },
    { name: 'on the last cluster a 500 without a retry policy is not wanted', r: route({ fallbackOn: compileConditions(['5xx']).test }), clusters: 1, status: 500, wants: false },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const { attempts } = run(c.r, Array.from({ length: c.clusters }, (_, i) => fakeCluster({ name: `c${i}` })))
      assert.equal(attempts.wantsStatus(c.status), c.wants)
    })
  }
})

describe('continuing a broken stream', () => {
  const stream = { model: 'm', stream: true, messages: [{ role: 'user', content: 'Count to five.' }] }
  const continuing = route({ streamRecovery: 'continue' })
  const chunk = (content: string) => Buffer.from(`data: ${JSON.stringify({ id: 'x', model: 'm', choices: [{ index: 0, delta: { content } }] })}\n\n`)

  test('a streamed chat completion on a continue route records what the client receives', () => {
    const { attempts } = run(continuing, [fakeCluster(), fakeCluster()], { json: stream })
    assert.ok(attempts.recorder)
  })

  const unrecorded: { name: string; opts: Parameters<typeof run>[2] }[] = [
    { name: 'a request that does not stream', opts: { json: { ...stream, stream: false } } },
    { name: 'an Anthropic caller', opts: { json: stream, protocol: 'anthropic', path: '/v1/messages' } },
    { name: 'a Responses call', opts: { json: stream, path: '/v1/responses' } },
  ]
  for (const c of unrecorded) {
    test(`${c.name} is not recorded: continuation splices Chat Completions chunks only`, () => {
      assert.equal(run(continuing, [fakeCluster(), fakeCluster()], c.opts).attempts.recorder, undefined)
    })
  }

  test('a route without stream_recovery: continue cannot continue a stream', () => {
    const { attempts } = run(route(), [fakeCluster(), fakeCluster()], { json: stream })
    assert.equal(attempts.continueStream(reset), false)
  })

  test("a broken stream continues on the next cluster, asked in that cluster's prefill form for what the client has", () => {
    const { attempts, ctx, sent } = run(continuing, [fakeCluster({ name: 'first' }), fakeCluster({ name: 'second', continuationPrefill: 'deepseek' })], { json: stream })
    attempts.recorder!.push(chunk('One, two, '))
    assert.equal(attempts.continueStream(reset), true)
    const expected = continuationRequest(stream, 'One, two, ', 'deepseek')
    assert.deepStrictEqual([where(sent), ctx.json, JSON.parse(ctx.body!.toString()), attempts.continuation !== undefined], [['first/a', 'second/a'], expected, expected, true])
  })

  test('a stream that breaks on the last cluster cannot continue', () => {
    const { attempts } = run(continuing, [fakeCluster()], { json: stream })
    assert.equal(attempts.continueStream(reset), false)
  })
})
