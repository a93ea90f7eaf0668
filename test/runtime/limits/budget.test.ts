import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BudgetLedger, compilePriceTable, NANOS_PER_UNIT } from '../../../src/runtime/limits/budget.js'
import { RedisConnection } from '../../../src/runtime/limits/redis-connection.js'
import { startRedis } from '../../support/redis-server.js'

const usd = (x: number) => Math.round(x * NANOS_PER_UNIT)
const prices = compilePriceTable([
  { model: 'gpt-4o', input: 2.5, output: 10, cachedInput: 1.25 },
  { model: 'gpt-4o-mini*', input: 0.15, output: 0.6 },
  { model: 'gpt-4o*', input: 99, output: 99 },
])

test('the price table prices a usage in integer nanos: uncached input, cached input, output', () => {
  assert.equal(prices.costOf('gpt-4o', { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 500 }), 7_250_000) // $0.00725
  assert.equal(prices.costOf('gpt-4o-mini-2024-07-18', { inputTokens: 1_000_000, outputTokens: 0 }), usd(0.15))
  assert.equal(prices.costOf('gpt-4o-mini-2024-07-18', { inputTokens: 10, cachedInputTokens: 10, outputTokens: 0 }), 1500, 'cached defaults to the input price')
  assert.equal(prices.priceOf('gpt-4o-2024-11-20')?.input, 99, 'globs in order after exact names')
  assert.equal(prices.costOf('claude-x', { inputTokens: 1, outputTokens: 1 }), undefined)
  assert.throws(() => compilePriceTable([{ model: 'm', input: -1, output: 0 }]), /input -1/)
})

const redis = await startRedis()
const conn = new RedisConnection({ url: redis.url, commandTimeoutMs: 500 })
test.after(async () => {
  await conn.close()
  await redis.close()
})
while (!conn.ready()) await new Promise((r) => setTimeout(r, 10))
const ledger = new BudgetLedger(conn, { prefix: `b${process.pid}:`, failureMode: 'closed' })
// 23:00 UTC on the last day of this month: two hours later is a new day and a new month.
const today = new Date()
const DAY = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 0, 23, 0, 0)
const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10)

test('spend accumulates per tenant and key per UTC day and month, exactly under concurrent records', async () => {
  const owner = { tenant: `acme${Date.now()}`, keyId: 'k1' }
  await Promise.all(Array.from({ length: 200 }, () => ledger.record(owner, 7_250_000, DAY)))
  await ledger.record({ tenant: owner.tenant, keyId: 'k2' }, 1, DAY)
  await ledger.record(owner, 5, DAY + 2 * 3_600_000) // next day, next month (Feb 1st)
  const s = await ledger.spend({ ...owner, tenantBudget: { day: usd(1) } }, DAY)
  assert.deepStrictEqual(s.tenant.map((l) => [l.period, l.window, l.spentNanos, l.remainingNanos]), [['day', ymd(DAY), 1_450_000_001, 0], ['month', ymd(DAY).slice(0, 7), 1_450_000_001, undefined]])
  assert.deepStrictEqual(s.key!.map((l) => l.spentNanos), [1_450_000_000, 1_450_000_000])
  const next = await ledger.spend(owner, DAY + 2 * 3_600_000)
  const next2 = DAY + 2 * 3_600_000
  assert.deepStrictEqual([next.tenant[0].window, next.tenant[1].window, next.tenant[0].spentNanos], [ymd(next2), ymd(next2).slice(0, 7), 5])
  // Each key lives one period past its window, so the admin API can still show the last one.
  const [dayTtl, monthTtl] = ledger.keysOf(owner, DAY).map((k) => Number(redis.cli('pttl', k)))
  assert.ok(Math.abs(dayTtl - (DAY + 3_600_000 + 86_400_000 - Date.now())) < 5000, `day ttl ${dayTtl}`)
  assert.ok(Math.abs(monthTtl - (DAY + 3_600_000 + 31 * 86_400_000 - Date.now())) < 5000, `month ttl ${monthTtl}`)
})

test('check refuses with insufficient_quota once a budget is spent, naming which', async () => {
  const now = Date.now()
  const owner = { tenant: `t${now}`, keyId: 'k', tenantBudget: { month: usd(1) }, keyBudget: { day: usd(0.5) } }
  assert.deepStrictEqual(await ledger.check(owner, now), { ok: true })
  await ledger.record(owner, usd(0.5), now)
  assert.deepStrictEqual(await ledger.check(owner, now), { ok: false, reason: 'insufficient_quota', scope: 'key', period: 'day' })
  assert.deepStrictEqual(await ledger.check({ ...owner, keyId: 'other' }, now), { ok: true })
  await ledger.record({ ...owner, keyId: 'other' }, usd(0.5), now)
  assert.deepStrictEqual(await ledger.check({ ...owner, keyId: 'third' }, now), { ok: false, reason: 'insufficient_quota', scope: 'tenant', period: 'month' })
  assert.deepStrictEqual(await ledger.check({ tenant: owner.tenant }, now), { ok: true }, 'no budget, no check')
})

test('with Redis down, check follows the failure mode at once and record never rejects', async () => {
  const open = new BudgetLedger(conn, { prefix: `b${process.pid}:`, failureMode: 'open' })
  const owner = { tenant: 'down', tenantBudget: { day: 1 } }
  await redis.kill()
  try {
    const t0 = performance.now()
    assert.deepStrictEqual(await ledger.check(owner), { ok: false, reason: 'unavailable' })
    assert.deepStrictEqual(await open.check(owner), { ok: true })
    await ledger.record(owner, 100)
    assert.ok(performance.now() - t0 < 500 + 250)
    assert.equal(conn.ready(), false)
  } finally {
    await redis.start()
  }
  for (let i = 0; i < 300 && !conn.ready(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.deepStrictEqual(await ledger.check({ tenant: `up${Date.now()}`, tenantBudget: { day: 1 } }), { ok: true })
})
