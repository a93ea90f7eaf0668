import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addHash, createRegisters, estimate, mergeRegisters } from '../../src/shared/hyperloglog.js'
import { fnv1a } from '../../src/shared/string-hash.js'

test('distinct keys are estimated within 5 % at 100, 10k and 200k keys; repeats do not count', () => {
  for (const n of [100, 10_000, 200_000]) {
    const r = createRegisters()
    for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) addHash(r, fnv1a(`user-${i}`))
    const e = estimate(r)
    assert.ok(Math.abs(e - n) / n < 0.05, `${n} keys estimated as ${e}`)
  }
})

test('merging two workers\' registers estimates the union, not the sum', () => {
  const a = createRegisters()
  const b = createRegisters()
  for (let i = 0; i < 5000; i++) addHash(a, fnv1a(`k${i}`))
  for (let i = 2500; i < 7500; i++) addHash(b, fnv1a(`k${i}`))
  mergeRegisters(a, b)
  const e = estimate(a)
  assert.ok(Math.abs(e - 7500) / 7500 < 0.05, `union estimated as ${e}`)
})
