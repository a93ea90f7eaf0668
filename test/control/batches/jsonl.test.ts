/**
 * Batch input files as data: what each kind of line becomes (queued, refused with its line number)
 * and what refuses the whole file.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseBatchFile } from '../../../src/control/batches/jsonl.js'

const EP = '/v1/chat/completions'
const line = (custom_id: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ custom_id, method: 'POST', url: EP, body: { model: 'm', messages: [] }, ...extra })

test('valid lines are queued in order with their line numbers; blank lines are skipped but counted', () => {
  const r = parseBatchFile([line('a'), '', line('b'), '   '].join('\n'), EP, 10)
  assert.ok(r.ok)
  assert.deepEqual(r.lines.map((l) => [l.index, l.line, l.customId, JSON.parse(l.body).model]), [[0, 1, 'a', 'm'], [1, 3, 'b', 'm']])
  assert.deepEqual(r.invalid, [])
})

const refused: [string, string, string][] = [
  ['{"custom_id": ', 'invalid_json_line', 'line 1 is not valid JSON'],
  ['[1,2]', 'invalid_line', 'line 1: must be a JSON object with custom_id, method, url and body'],
  [line(''), 'invalid_line', 'line 1: custom_id must be a non-empty string'],
  [line(7), 'invalid_line', 'line 1: custom_id must be a non-empty string'],
  [line('x', { method: 'GET' }), 'invalid_line', 'line 1: method must be "POST" (got "GET")'],
  [line('x', { url: '/v1/embeddings' }), 'invalid_line', 'line 1: url must be the batch\'s endpoint "/v1/chat/completions" (got "/v1/embeddings")'],
  [line('x', { body: 'hi' }), 'invalid_line', 'line 1: body must be a JSON object (the request body)'],
  [line('x', { body: { model: 'm', stream: true } }), 'invalid_line', 'line 1: body.stream must not be true: a batch line cannot stream'],
]
for (const [text, code, message] of refused) {
  test(`a line ${text.slice(0, 60)} is refused on its own: ${code}`, () => {
    const r = parseBatchFile(`${text}\n${line('ok')}`, EP, 10)
    assert.ok(r.ok)
    assert.equal(r.invalid.length, 1)
    assert.equal(r.invalid[0].code, code)
    assert.equal(r.invalid[0].line, 1)
    assert.ok(r.invalid[0].message.startsWith(message), r.invalid[0].message)
    assert.deepEqual(r.lines.map((l) => l.customId), ['ok'])
  })
}

test('a custom_id used twice refuses the file, naming both lines (also when the second line is invalid)', () => {
  assert.deepEqual(parseBatchFile([line('a'), line('b'), line('a', { method: 'GET' })].join('\n'), EP, 10), {
    ok: false, code: 'SY_BATCH_DUPLICATE_CUSTOM_ID', message: "custom_id 'a' on line 3 duplicates line 1; every line needs its own custom_id",
  })
})

test('more lines than max_lines refuses the file', () => {
  const r = parseBatchFile([line('a'), line('b'), line('c')].join('\n'), EP, 2)
  assert.deepEqual(r, { ok: false, code: 'SY_BATCH_INVALID', message: 'the input file has more than 2 lines (batches.max_lines)' })
})
