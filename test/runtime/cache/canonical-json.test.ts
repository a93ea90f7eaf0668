/**
 * canonicalJson against the first version (test/support/canonical-json-oracle.ts) on random values: the key is a
 * hash of these bytes, so any difference would be a different key for the same request.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalJson } from '../../../src/runtime/cache/key.js'
import { canonicalJsonOracle } from '../../support/canonical-json-oracle.js'

let seed = 20261204
const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]

const NUMBERS = [0, -0, 1, -1, 1e21, 1e-7, -1e21, 123456789012345680000, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 3.14159, 1e300 * 10, NaN, -Infinity]
/** Pieces strings are made of: plain text, everything JSON.stringify escapes, unicode (BMP, astral pairs, lone surrogates), U+2028 (not escaped). */
const PIECES = ['hello', ' ', 'Say hi. ', '"', '\\', '/', '\n', '\r\t', '\u0000', '\u001f', '\u007f', 'é', 'ß', '日本語', '😀', '\ud83d\ude00', '\ud800', '\udfff', 'a\udc00b', '\u2028', '\u2029', '\ufeff', '{"nested":"json"}', '</script>']
const KEYS = ['a', 'b', 'role', 'content', 'messages', 'model', 'temperature', 'tools', 'type', 'function', 'name', 'Z', '_', '0', '1', '10', '2', '-1', '01', '4294967295', 'é', '😀', 'key with space', 'q"uote', 'back\\slash', '\n', '']

function randomString(): string {
  let s = ''
  for (let i = rand(6); i > 0; i--) s += pick(PIECES)
  // Now and then a long one (message content).
  if (rand(20) === 0) s += 'lorem ipsum '.repeat(50 + rand(100))
  return s
}

function randomValue(depth: number): unknown {
  const r = rand(depth > 4 ? 6 : 10)
  switch (r) {
    case 0: return null
    case 1: return rand(2) === 0
    case 2: return pick(NUMBERS)
    case 3: return rand(2) === 0 ? rand(1_000_000) - 500_000 : (rand(1_000_000) - 500_000) / 1000
    case 4:
    case 5: return randomString()
    case 6:
    case 7: {
      const a: unknown[] = []
      for (let i = rand(6); i > 0; i--) a.push(rand(15) === 0 ? undefined : randomValue(depth + 1))
      return a
    }
    default: {
      const o: Record<string, unknown> = {}
      for (let i = rand(9); i > 0; i--) o[rand(4) === 0 ? randomString() : pick(KEYS)] = rand(15) === 0 ? undefined : randomValue(depth + 1)
      return o
    }
  }
}

function objectsToSort(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0
  const xs = Array.isArray(v) ? v : Object.values(v)
  let n = !Array.isArray(v) && xs.length >= 3 ? 1 : 0
  for (const x of xs) n += objectsToSort(x)
  return n
}

/** The same value with every object's keys inserted in a random order. */
function shuffled(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(shuffled)
  const keys = Object.keys(v)
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rand(i + 1)
    ;[keys[i], keys[j]] = [keys[j], keys[i]]
  }
  const o: Record<string, unknown> = {}
  for (const k of keys) o[k] = shuffled((v as Record<string, unknown>)[k])
  return o
}

test('5000 random values give the oracle\'s bytes exactly, and so do their key-shuffled copies', () => {
  let sorted = 0
  for (let i = 0; i < 5000; i++) {
    const v = randomValue(0)
    const want = canonicalJsonOracle(v)
    assert.equal(canonicalJson(v), want, `value ${i}`)
    assert.equal(canonicalJson(shuffled(v)), want, `value ${i}, keys shuffled`)
    sorted += objectsToSort(v)
  }
  // The values exercise the sort: thousands of objects with several keys.
  assert.ok(sorted > 3000, `objects with 3 or more keys: ${sorted}`)
})

test('random values made by JSON.parse (request bodies as they arrive) give the oracle\'s bytes exactly', () => {
  for (let i = 0; i < 3000; i++) {
    const v = JSON.parse(JSON.stringify(shuffled(randomValue(0))) ?? 'null')
    assert.equal(canonicalJson(v), canonicalJsonOracle(v), `value ${i}`)
  }
})

test('the spellings that differ from a naive quote or String(): escapes, lone surrogates, -0, 1e21, non-finite numbers', () => {
  const cases: [unknown, string][] = [
    ['a"b\\c\n\u0001', '"a\\"b\\\\c\\n\\u0001"'],
    ['\ud800x', '"\\ud800x"'],
    ['😀', '"😀"'],
    ['\u2028', '"\u2028"'],
    [-0, '0'],
    [1e21, '1e+21'],
    [NaN, 'null'],
    [{ x: Infinity, y: [undefined, -Infinity] }, '{"x":null,"y":[null,null]}'],
    [{ '10': 1, '2': 2, b: 3, a: 4 }, '{"10":1,"2":2,"a":4,"b":3}'],
  ]
  for (const [v, want] of cases) {
    assert.equal(canonicalJsonOracle(v), want, `oracle: ${String(want)}`)
    assert.equal(canonicalJson(v), want)
  }
})
