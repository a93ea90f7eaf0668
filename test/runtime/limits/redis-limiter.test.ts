import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RedisConnection } from '../../../src/runtime/limits/redis-connection.js'
import { RedisLimiter } from '../../../src/runtime/limits/redis-limiter.js'
import { compileDescriptor } from '../../../src/runtime/limits/descriptor.js'
import { startRedis } from '../../support/redis-server.js'
import { factsOf, redisLimitSuite, tenantLimit } from '../../support/redis-limit-suite.js'

const redis = await startRedis()
test.after(() => redis.close())
const MINUTE = 60_000
const NONE = { inputTokens: 0, outputTokens: 0 }

redisLimitSuite('standalone', () => ({
  config: { url: redis.url },
  outage: () => ({ down: () => redis.kill(), up: () => redis.start() }),
}))

test('standalone: a hung Redis (SIGSTOP) costs each call at most the timeout, and it recovers on SIGCONT', async (t) => {
  const c = new RedisConnection({ url: redis.url, commandTimeoutMs: 80, probeIntervalMs: 100 })
  t.after(() => c.close())
  while (!c.ready()) await new Promise((r) => setTimeout(r, 10))
  const l = new RedisLimiter([tenantLimit([{ kind: 'requests', limit: 1000, periodMs: MINUTE }])], c, { failureMode: 'closed' })
  const tenant = `hung${Date.now()}`
  assert.ok((await l.check(factsOf(tenant), NONE)).ok)
  redis.pause()
  try {
    const times: number[] = []
    const reasons = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now()
      const d = await l.check(factsOf(tenant), NONE)
      times.push(performance.now() - t0)
      if (!d.ok) reasons.add(d.reason)
      else assert.fail('admitted while Redis hangs, with failure_mode closed')
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.deepStrictEqual([...reasons], ['unavailable'])
    // Slack for a loaded box's scheduling on top of the 80 ms timeout; a call that hung on the
    // stopped Redis would take the whole test's time, not half a second.
    assert.ok(Math.max(...times) < 80 + 500, `slowest ${Math.max(...times).toFixed(0)} ms`)
    // Between probes, calls fail without waiting: "fast" is well under the 80 ms a call that
    // waited for Redis would take (a few ms on a quiet box; a loaded one adds scheduling delays).
    assert.ok(times.filter((x) => x < 40).length >= 10, `fast failures: ${times.map((x) => x.toFixed(0)).join(',')}`)
    assert.equal(c.ready(), false)
  } finally {
    redis.resume()
  }
  let d = await l.check(factsOf(tenant), NONE)
  for (let i = 0; i < 50 && !d.ok; i++) {
    await new Promise((r) => setTimeout(r, 20))
    d = await l.check(factsOf(tenant), NONE)
  }
  assert.ok(d.ok, 'answers from Redis again after SIGCONT')
  assert.equal(c.ready(), true)
})

test('standalone: limits under two hash tags are checked together; a refusal by one gives back the other', async (t) => {
  const c = new RedisConnection({ url: redis.url, commandTimeoutMs: 1000 })
  t.after(() => c.close())
  while (!c.ready()) await new Promise((r) => setTimeout(r, 10))
  const perModel = { name: 'model', keyOf: compileDescriptor('model', ['model'], `sy${process.pid}:`), rules: [{ kind: 'requests' as const, limit: 2, periodMs: MINUTE }] }
  const perTenant = tenantLimit([{ kind: 'tokens', limit: 1000, periodMs: MINUTE, count: 'total' }])
  const l = new RedisLimiter([perTenant, perModel], c, { failureMode: 'closed' })
  const model = `m${Date.now()}`
  const a = await l.check(factsOf(`a${Date.now()}`, model), { inputTokens: 100, outputTokens: 0 })
  assert.ok(a.ok)
  const bTenant = `b${Date.now()}`
  const refused = await l.check(factsOf(bTenant, model), { inputTokens: 5000, outputTokens: 0 })
  assert.equal(refused.ok, false)
  if (!refused.ok) assert.deepStrictEqual([refused.reason, refused.limit], ['too_large', 'tenant'])
  // The model's second request was given back, so one more fits; then the model limit holds.
  await new Promise((r) => setTimeout(r, 20))
  const b = await l.check(factsOf(bTenant, model), { inputTokens: 100, outputTokens: 0 })
  assert.ok(b.ok, 'the refused check did not keep its per-model request')
  const c3 = await l.check(factsOf(bTenant, model), NONE)
  assert.equal(c3.ok, false)
  if (!c3.ok) assert.equal(c3.limit, 'model')
  assert.equal(b.ok && b.tokens!.remaining, 900)
})

test('standalone: rate statuses come back on admission for the headers', async (t) => {
  const c = new RedisConnection({ url: redis.url, commandTimeoutMs: 1000 })
  t.after(() => c.close())
  while (!c.ready()) await new Promise((r) => setTimeout(r, 10))
  const l = new RedisLimiter([tenantLimit([{ kind: 'requests', limit: 10, periodMs: MINUTE }, { kind: 'tokens', limit: 5000, periodMs: MINUTE, count: 'input' }])], c, { failureMode: 'closed' })
  const d = await l.check(factsOf(`s${Date.now()}`), { inputTokens: 1200, outputTokens: 99 })
  assert.ok(d.ok)
  assert.deepStrictEqual([d.requests!.limit, d.requests!.remaining, d.inputTokens!.limit, d.inputTokens!.remaining], [10, 9, 5000, 3800])
  assert.ok(d.requests!.resetMs >= 5900 && d.requests!.resetMs <= 6000, `reset ${d.requests!.resetMs}`)
  assert.equal(d.tokens, undefined)
  await d.lease.finish({ inputTokens: 200, outputTokens: 50 })
  const e = await l.check(factsOf(`s${Date.now()}`), NONE)
  assert.ok(e.ok)
})
