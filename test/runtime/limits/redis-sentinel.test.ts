/**
 * `redis: { sentinel: … }`: global limits through a master found by Redis Sentinel, and after a
 * failover (the master killed, the replica promoted) the same connection reaches the new master
 * by itself, without a restart. Real redis-server processes.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { RedisConnection } from '../../../src/runtime/limits/redis-connection.js'
import { RedisLimiter } from '../../../src/runtime/limits/redis-limiter.js'
import { compileDescriptor } from '../../../src/runtime/limits/descriptor.js'
import type { CompiledLimit, RequestFacts } from '../../../src/runtime/limits/types.js'
import { startRedisSentinel, type RedisSentinel } from '../../support/redis-sentinel.js'

let sentinel: RedisSentinel
let conn: RedisConnection
const limits: CompiledLimit[] = [{ name: 'per-tenant', keyOf: compileDescriptor('per-tenant', ['tenant'], 'sy:'), rules: [{ kind: 'requests', limit: 3, periodMs: 60_000 }] }]
const facts = (tenant: string): RequestFacts => ({ tenant, keyId: undefined, model: undefined, route: undefined, headers: {} })
const NO_TOKENS = { inputTokens: 0, outputTokens: 0 }

before(async () => {
  sentinel = await startRedisSentinel()
  conn = new RedisConnection({ sentinel: { master: sentinel.master, nodes: sentinel.sentinels }, commandTimeoutMs: 200, probeIntervalMs: 50 })
  for (const until = Date.now() + 5000; !conn.ready(); ) {
    if (Date.now() > until) throw new Error('never connected through the sentinel')
    await new Promise((r) => setTimeout(r, 20))
  }
})
after(async () => {
  await conn?.close()
  await sentinel?.close()
})

test('limits hold through the master the sentinel names, and again after a failover', async () => {
  const limiter = new RedisLimiter(limits, conn, { failureMode: 'closed' })
  const codes = async (tenant: string, n: number) => {
    const out: string[] = []
    for (let i = 0; i < n; i++) { const d = await limiter.check(facts(tenant), NO_TOKENS); out.push(d.ok ? 'ok' : d.reason) }
    return out
  }
  assert.deepEqual(await codes('acme', 4), ['ok', 'ok', 'ok', 'limited'])
  assert.equal(sentinel.primary.cli('exists', 'sy:{acme}:per-tenant:req:60000'), '1', 'the bucket lives on the sentinel\'s master')
  // Replication is asynchronous: fail over only once the replica holds the bucket.
  for (const until = Date.now() + 5000; sentinel.replica.cli('exists', 'sy:{acme}:per-tenant:req:60000') !== '1'; ) {
    if (Date.now() > until) assert.fail('the replica never received the bucket')
    await new Promise((r) => setTimeout(r, 20))
  }
  await sentinel.failover()
  // The promoted replica has the bucket (replicated); the connection finds it without a restart.
  let after: string[] = []
  for (const until = Date.now() + 10_000; ; ) {
    after = await codes('acme', 1)
    if (after[0] !== 'unavailable') break
    if (Date.now() > until) assert.fail('the connection never reached the promoted master')
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.deepEqual(after, ['limited'], 'the bucket survived the failover')
  assert.deepEqual(await codes('globex', 4), ['ok', 'ok', 'ok', 'limited'], 'the new master takes writes')
})
