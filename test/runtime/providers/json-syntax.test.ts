/** isJsonLine agrees with JSON.parse: hand-picked edge cases, then random mutations of real events. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isJsonLine } from '../../../src/runtime/providers/json-syntax.js'

const parses = (s: string) => {
  try {
    JSON.parse(s)
    return true
  } catch {
    return false
  }
}
const check = (s: string) => {
  const b = Buffer.from(`xx${s}yy`) // an offset range inside a larger buffer, as in a stream
  return isJsonLine(b, 2, b.length - 2)
}

const CASES = [
  '{}', '[]', ' {} ', '{"a":1}', '{"a":[1,2,{"b":null}],"c":"d"}', '"s"', '0', '-0', '1.5e+10', '-1E-2', 'true', 'false', 'null',
  '{"e":"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"}', '[[[[[]]]]]', '{"a" : 1 , "b" : [ ] }', '"héllo 😀"',
  '', ' ', '{', '}', '{"a":1', '{"a":1,}', '[1,]', '[,1]', '{"a"}', '{"a":}', '{a:1}', "{'a':1}", '{"a":1}}', '{"a":1} x',
  '01', '1.', '.5', '-', '1e', '1e+', '+1', 'tru', 'nul', 'True', 'NaN', 'Infinity', '"\\x"', '"\\u12"', '"\\u12G4"', '"abc',
  '"a\tb"', '{"a":1 "b":2}', '[1 2]', '{"a":1,"a":2}', '{not json', '<html>502</html>', '[DONE]', '{"a":[}', '{"a":{]}',
]

test('agrees with JSON.parse on hand-picked valid and invalid texts', () => {
  const wrong = CASES.filter((s) => check(s) !== parses(s)).map((s) => `${JSON.stringify(s)}: isJsonLine=${check(s)}, JSON.parse=${parses(s)}`)
  assert.deepStrictEqual(wrong, [])
})

test('agrees with JSON.parse on 20,000 random mutations of real stream events', () => {
  const seeds = [
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi \\"there\\"\\n"},"logprobs":null,"finish_reason":null}]}',
    '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Par"}}',
    '{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":-1.5e3}}',
  ]
  const alphabet = '{}[]":,\\ 0123456789.-+eEtrufalsn\tu'
  let seed = 42
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
  const wrong: string[] = []
  for (let k = 0; k < 20000 && wrong.length < 5; k++) {
    let s = seeds[k % seeds.length]
    for (let m = 0, count = 1 + rnd(3); m < count; m++) {
      const at = rnd(s.length + 1)
      const op = rnd(3)
      const ch = alphabet[rnd(alphabet.length)]
      s = op === 0 ? s.slice(0, at) + ch + s.slice(at) : op === 1 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + ch + s.slice(at + 1)
    }
    if (check(s) !== parses(s)) wrong.push(`${JSON.stringify(s)}: isJsonLine=${check(s)}, JSON.parse=${parses(s)}`)
  }
  assert.deepStrictEqual(wrong, [])
})

test('nesting deeper than the tracked stack is still judged correctly', () => {
  assert.equal(check('['.repeat(500) + ']'.repeat(500)), true)
  assert.equal(check('['.repeat(500) + ']'.repeat(499)), false)
})

test('a line break anywhere is an error: SSE data lines cannot hold one', () => {
  assert.deepStrictEqual(['{\n}', '[1,\n2]', '{"a":\r1}', '\n{}'].map(check), [false, false, false, false])
})
