import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchKey, memberBody, memberInputs, readBatchAnswer, shares } from '../../../src/runtime/upstream/embedding-batch.js'

test('inputs a batch can carry: a string, strings, a token array, token arrays', () => {
  assert.deepEqual(memberInputs({ input: 'hello' }), { kind: 'text', list: ['hello'], weight: 5 })
  assert.deepEqual(memberInputs({ input: ['a', 'bcd'] }), { kind: 'text', list: ['a', 'bcd'], weight: 4 })
  assert.deepEqual(memberInputs({ input: [1, 2, 3] }), { kind: 'tokens', list: [[1, 2, 3]], weight: 3 })
  assert.deepEqual(memberInputs({ input: [[1, 2], [3]] }), { kind: 'tokens', list: [[1, 2], [3]], weight: 3 })
})

test('inputs a batch cannot carry go upstream alone (undefined)', () => {
  for (const input of [undefined, [], ['a', 1], [[1], 'b'], [1.5], [[]], { text: 'x' }, 42]) assert.equal(memberInputs({ input }), undefined, JSON.stringify(input))
})

test('requests share a batch only when everything but input is the same', () => {
  const k = (json: Record<string, unknown>, cred = '') => batchKey(json, '/v1/embeddings', '', 'text', cred)
  assert.equal(k({ model: 'm', input: 'a', dimensions: 8 }), k({ dimensions: 8, input: ['b', 'c'], model: 'm' }))
  assert.notEqual(k({ model: 'm', input: 'a' }), k({ model: 'n', input: 'a' }))
  assert.notEqual(k({ model: 'm', input: 'a' }), k({ model: 'm', input: 'a', encoding_format: 'base64' }))
  assert.notEqual(k({ model: 'm', input: 'a' }, 'Bearer x'), k({ model: 'm', input: 'a' }, 'Bearer y'))
  assert.notEqual(batchKey({ model: 'm' }, '/v1/embeddings', '', 'text', ''), batchKey({ model: 'm' }, '/v1/embeddings', '', 'tokens', ''))
})

test('usage shares add up to the total, by weight', () => {
  assert.deepEqual(shares(10, [1, 1]), [5, 5])
  assert.deepEqual(shares(10, [1, 1, 1]).reduce((a, b) => a + b), 10)
  assert.deepEqual(shares(7, [5, 1, 1]), [5, 1, 1])
  assert.deepEqual(shares(0, [3, 4]), [0, 0])
  for (let i = 0; i < 200; i++) {
    const w = Array.from({ length: 1 + (i % 9) }, (_, j) => 1 + ((i * 7 + j * 13) % 50))
    const total = (i * 37) % 1000
    const s = shares(total, w)
    assert.equal(s.reduce((a, b) => a + b, 0), total)
    s.forEach((x, j) => assert.ok(Math.abs(x - (total * w[j]) / w.reduce((a, b) => a + b)) < 1))
  }
})

test('a batch answer is read by index and cut into members re-indexed from 0', () => {
  const body = Buffer.from(JSON.stringify({ object: 'list', model: 'm', data: [{ object: 'embedding', index: 2, embedding: [2] }, { object: 'embedding', index: 0, embedding: [0] }, { object: 'embedding', index: 1, embedding: [1] }], usage: { prompt_tokens: 9, total_tokens: 9 } }))
  const a = readBatchAnswer(body, 3)
  assert.ok(typeof a !== 'string')
  assert.deepEqual(JSON.parse(memberBody(a, 1, 2, 6, 6).toString()), {
    object: 'list', model: 'm', usage: { prompt_tokens: 6, total_tokens: 6 },
    data: [{ object: 'embedding', index: 0, embedding: [1] }, { object: 'embedding', index: 1, embedding: [2] }],
  })
})

test('a batch answer with the wrong number of items or repeated indexes is refused', () => {
  const answer = (data: unknown[]) => readBatchAnswer(Buffer.from(JSON.stringify({ data })), 2)
  assert.match(answer([{ index: 0, embedding: [] }]) as string, /1 embeddings for 2 inputs/)
  assert.match(answer([{ index: 0, embedding: [] }, { index: 0, embedding: [] }]) as string, /repeated/)
  assert.match(readBatchAnswer(Buffer.from('nope'), 1) as string, /not JSON/)
})
