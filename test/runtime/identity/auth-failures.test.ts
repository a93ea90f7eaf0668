/**
 * Failed authentications per source: blocking after the limit, the window and the block expiring,
 * IPv6 counted per /64, and memory bounded however many sources fail.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createAuthFailureLimiter, sourceKey } from '../../../src/runtime/identity/auth-failures.js'

test('source keys: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64', () => {
  const cases: [string, string][] = [
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['0000:0000:0000:0000:0000:ffff:0a01:0203', '10.1.2.3'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
  ]
  assert.deepStrictEqual(cases.map(([a]) => [a, sourceKey(a)]), cases)
})

test('a source is blocked at the limit, for blockMs, and others are not', () => {
  const f = createAuthFailureLimiter({ maxFailures: 3, windowMs: 10_000, blockMs: 5_000 })
  assert.equal(f.recordFailure('10.0.0.1', 0), 0)
  assert.equal(f.recordFailure('10.0.0.1', 100), 0)
  assert.equal(f.blockedFor('10.0.0.1', 200), 0)
  assert.equal(f.recordFailure('10.0.0.1', 200), 5_000)
  assert.equal(f.blockedFor('10.0.0.1', 1_200), 4_000)
  assert.equal(f.blockedFor('10.0.0.2', 1_200), 0)
  assert.equal(f.blockedFor('10.0.0.1', 5_200), 0, 'the block ends')
  assert.deepStrictEqual(f.stats(), { failures: 3, refused: 1, tracked: 1 })
})

test('failures older than the window no longer count', () => {
  const f = createAuthFailureLimiter({ maxFailures: 3, windowMs: 1_000 })
  f.recordFailure('10.0.0.1', 0)
  f.recordFailure('10.0.0.1', 500)
  assert.equal(f.recordFailure('10.0.0.1', 1_500), 0, 'a new window started')
  assert.equal(f.blockedFor('10.0.0.1', 1_600), 0)
})

test('addresses of one IPv6 /64 share a count', () => {
  const f = createAuthFailureLimiter({ maxFailures: 3 })
  f.recordFailure('2001:db8::1', 0)
  f.recordFailure('2001:db8::2', 0)
  f.recordFailure('2001:db8::ffff:3', 0)
  assert.ok(f.blockedFor('2001:db8::abcd', 1) > 0)
  assert.equal(f.blockedFor('2001:db8:0:1::1', 1), 0, 'the next /64 is another source')
})

test('memory stays bounded: the least recently failing source is forgotten first', () => {
  const f = createAuthFailureLimiter({ maxFailures: 2, maxTracked: 100 })
  f.recordFailure('192.0.2.1', 0)
  f.recordFailure('192.0.2.1', 0) // blocked
  for (let i = 0; i < 99; i++) f.recordFailure(`198.51.100.${i}`, 1)
  f.recordFailure('192.0.2.1', 2) // still failing: moves to the recent end
  for (let i = 0; i < 50; i++) f.recordFailure(`203.0.113.${i}`, 3)
  assert.equal(f.stats().tracked, 100)
  assert.ok(f.blockedFor('192.0.2.1', 4) > 0, 'a recent offender survives the churn')
  for (let i = 0; i < 10_000; i++) f.recordFailure(`10.${i >> 8}.${i & 255}.1`, 5)
  assert.equal(f.stats().tracked, 100)
})

test('nonsense limits are refused when built', () => {
  assert.throws(() => createAuthFailureLimiter({ maxFailures: 0 }), /must be positive/)
  assert.throws(() => createAuthFailureLimiter({ windowMs: -1 }), /must be positive/)
})
