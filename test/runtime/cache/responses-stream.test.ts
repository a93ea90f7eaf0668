/** Responses streams in the cache: only a completed stream is kept; the replayed stream is the same response. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ResponsesSseWriter } from '../../../src/runtime/providers/translate/write-responses.js'
import { responseOfStream, responsesStreamTemplate } from '../../../src/runtime/cache/responses-stream.js'
import { SseParser } from '../../../src/runtime/providers/sse/sse-parser.js'

function stream(end: 'complete' | 'fail' | 'cut' | 'length'): Buffer {
  const w = new ResponsesSseWriter({ model: 'gpt-4o' })
  w.start({ model: 'gpt-4o' })
  w.text('Hello ')
  w.text('there.')
  w.toolStart(0, 'call_1', 'lookup')
  w.toolArgs(0, '{"q":"x"}')
  w.toolEnd(0)
  if (end === 'cut') return Buffer.from(w.take())
  if (end === 'fail') w.error({ status: 502, message: 'upstream broke' })
  else {
    w.usage({ inputTokens: 7, outputTokens: 3 })
    w.finish(end === 'length' ? 'length' : 'tool_calls')
    w.close()
  }
  return Buffer.from(w.take())
}

test('a completed stream is kept as its final response object', () => {
  const kept = JSON.parse(responseOfStream(stream('complete'))!)
  assert.equal(kept.object, 'response')
  assert.equal(kept.status, 'completed')
  assert.deepStrictEqual(kept.output.map((i: any) => i.type), ['message', 'function_call'])
})

test('a failed, cut or incomplete stream, or one with bytes after the end, is not kept', () => {
  const complete = stream('complete')
  assert.deepStrictEqual(
    [stream('fail'), stream('cut'), stream('length'), Buffer.concat([complete, Buffer.from('event: x\ndata: {}\n\n')]), complete.subarray(0, complete.length - 3)].map(responseOfStream),
    [undefined, undefined, undefined, undefined, undefined],
  )
})

test('the replayed stream rebuilds the stored response, items and text alike, in order', () => {
  const stored = responseOfStream(stream('complete'))!
  const events = [...new SseParser().push(Buffer.from(responsesStreamTemplate(stored)!))].map((e) => JSON.parse(e.data))
  assert.deepStrictEqual(events.map((e) => e.sequence_number), events.map((_, i) => i))
  assert.deepStrictEqual(events.map((e) => e.type), [
    'response.created', 'response.in_progress',
    'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
    'response.completed',
  ])
  const original = JSON.parse(stored)
  const final = events.at(-1).response
  assert.deepStrictEqual(final.output, original.output)
  assert.equal(final.usage.input_tokens_details.cached_tokens, 7)
  assert.equal(events[0].response.status, 'in_progress')
  assert.deepStrictEqual(events[0].response.output, [])
})
