/**
 * Issue 12 (item 3): the OpenAI Responses API as a caller protocol, fuzzed (bounded and seeded, so a
 * failure reproduces). Valid Responses requests translate to every upstream; mutated ones — a node
 * replaced by null, a number, a string, an array, an object, a lone surrogate; a key dropped — either
 * translate or are refused with a TranslationError (a 400 naming the field), never another exception.
 * And the Responses event writer, driven by random sink calls, always writes a stream the SDK can
 * accumulate: consecutive sequence numbers, every item added before its events and done before the
 * terminal event, a final response equal to what the deltas built.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mutate, prng } from '../support/fuzz.js'
import { createProtocolTranslator, ResponsesSseWriter, TranslationError } from '../../src/runtime/providers/translate/index.js'
import { SseParser } from '../../src/runtime/providers/sse/sse-parser.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261212)


const IMAGE = 'data:image/png;base64,iVBORw0KGgo='
const SEEDS = [
  { model: 'm', input: 'hi', temperature: 1, top_p: 1, max_output_tokens: 5, truncation: 'auto', service_tier: 'auto', prompt_cache_key: 'k', safety_identifier: 's' },
  {
    model: 'm', instructions: 'be brief', stream: true, temperature: 0.2, top_p: 0.9, max_output_tokens: 10, user: 'u', store: true,
    metadata: { k: 'v' }, parallel_tool_calls: false, reasoning: { effort: 'low', summary: 'auto' }, truncation: 'disabled',
    input: [
      { role: 'developer', content: 'rules' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: IMAGE, detail: 'auto' }] },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'think' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'calling', annotations: [] }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{"a":1}', id: 'fc_1', status: 'completed' },
      { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: '{"ok":true}' }] },
      { role: 'user', content: [{ type: 'input_file', file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' }] },
    ],
    tools: [{ type: 'function', name: 'f', description: 'd', strict: true, parameters: { type: 'object', properties: { a: { type: 'number' } } } }],
    tool_choice: { type: 'function', name: 'f' },
    text: { format: { type: 'json_schema', name: 's', strict: true, schema: { type: 'object', properties: { a: { type: ['string', 'null'] } } } } },
  },
  {
    model: 'm', input: [{ role: 'user', content: 'x' }],
    tools: [{ type: 'function', name: 'a', parameters: null }, { type: 'function', name: 'b' }],
    tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'b' }] },
  },
]
const UPSTREAMS = ['anthropic', 'gemini', 'bedrock', 'openai'] as const

const ODD_VALUES: unknown[] = [null, 0, -1, 5.5, '', 'x', '\ud800', '..', true, [], [null], {}, { type: 5 }, { type: 'input_text' }, [[]], { role: null }]


test('the seed Responses requests translate to every upstream', () => {
  for (const upstream of UPSTREAMS) {
    const t = createProtocolTranslator('responses', upstream)
    for (const seed of SEEDS) {
      assert.equal(t.check(seed), undefined, `${upstream}: ${JSON.stringify(seed)}`)
      const { body } = t.request(seed) as { body: Record<string, unknown> }
      const turns = (body.messages ?? body.contents) as unknown[]
      assert.ok(Array.isArray(turns) && turns.length > 0, `${upstream}: ${JSON.stringify(body)}`)
    }
  }
})

test('every Responses translator translates a mutated request or refuses it with a TranslationError, never another exception', () => {
  const rnd = prng(SEED)
  let translated = 0
  let refused = 0
  for (const upstream of UPSTREAMS) {
    const t = createProtocolTranslator('responses', upstream)
    for (let i = 0; i < 700; i++) {
      const body = mutate(SEEDS[i % SEEDS.length], rnd, ODD_VALUES)
      try {
        t.request(body)
        translated++
      } catch (e) {
        if (!(e instanceof TranslationError)) assert.fail(`responses → ${upstream} threw ${(e as Error)?.stack}\nfor ${JSON.stringify(body)} (FUZZ_SEED=${SEED})`)
        // The param names a field the caller sent (or none, for a body that is not an object).
        if (e.param !== null) assert.match(e.param, /^(model|input|instructions|tools|tool_choice|text|reasoning|metadata|user|store|background|previous_response_id|conversation|prompt|include|stream|parallel_tool_calls)\b/, `${e.message} (FUZZ_SEED=${SEED})`)
        refused++
      }
    }
  }
  // Both outcomes must be common, or the mutations are not exercising anything.
  assert.ok(translated > 500 && refused > 500, `translated ${translated}, refused ${refused}`)
})

/** `item` as accumulated, with the status `final` reports (an item's status changes when it is done). */
const withStatusOf = (final: any, item: any) => ('status' in final ? { ...item, status: final.status } : item)

/** Checks a Responses event stream as the SDK reads it; returns the terminal event. */
function checkStream(sse: string, context: string): any {
  const p = new SseParser()
  const events = [...p.push(Buffer.from(sse)), ...p.end()].map((ev) => {
    const e = JSON.parse(ev.data)
    assert.equal(ev.event, e.type, context)
    return e
  })
  assert.deepStrictEqual(events.map((e) => e.sequence_number), events.map((_, i) => i), context)
  assert.equal(events[0].type, 'response.created', context)
  const snapshot = events[0].response
  const done = new Set<number>()
  let terminal: any
  for (const e of events) {
    if (terminal) assert.ok(terminal.type === 'response.failed' && e.type === 'error', `${e.type} after ${terminal.type}: ${context}`)
    const item = snapshot.output[e.output_index]
    if (e.output_index !== undefined && e.type !== 'response.output_item.added') {
      assert.ok(item && !done.has(e.output_index), `${e.type} for an item not open: ${context}`)
      if (e.item_id) assert.equal(e.item_id, item.id, context)
    }
    switch (e.type) {
      case 'response.output_item.added':
        assert.equal(e.output_index, snapshot.output.length, context)
        snapshot.output.push(e.item)
        break
      case 'response.content_part.added': item.content.push(e.part); break
      case 'response.reasoning_summary_part.added': item.summary.push(e.part); break
      case 'response.output_text.delta': item.content[e.content_index].text += e.delta; break
      case 'response.reasoning_summary_text.delta': item.summary[e.summary_index].text += e.delta; break
      case 'response.function_call_arguments.delta': item.arguments += e.delta; break
      case 'response.output_item.done':
        assert.deepStrictEqual(withStatusOf(e.item, item), e.item, context)
        done.add(e.output_index)
        break
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        terminal = e
        break
    }
  }
  assert.ok(terminal, `no terminal event: ${context}`)
  if (terminal.type !== 'response.failed') {
    assert.equal(done.size, snapshot.output.length, `every item is done before ${terminal.type}: ${context}`)
    for (const [i, item] of snapshot.output.entries()) assert.deepStrictEqual(withStatusOf(terminal.response.output[i], item), terminal.response.output[i], context)
  }
  return terminal
}

test('random sink calls always make a Responses event stream the SDK can accumulate', () => {
  const rnd = prng(SEED + 1)
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!
  for (let run = 0; run < 400; run++) {
    const w = new ResponsesSseWriter({ model: 'm' })
    const ops: string[] = []
    let tools = 0
    let out = ''
    const steps = Math.floor(rnd() * 14)
    for (let s = 0; s < steps; s++) {
      const op = pick(['text', 'text', 'reasoning', 'toolStart', 'toolArgs', 'toolArgs', 'toolEnd', 'usage'] as const)
      const i = Math.floor(rnd() * (tools + 1))
      ops.push(`${op}(${i})`)
      if (op === 'text') w.text(pick(['a', 'é ', '✓', '']))
      else if (op === 'reasoning') w.reasoning(pick(['r', 'hm ']))
      else if (op === 'toolStart') w.toolStart(tools++, `call_${tools}`, 'f')
      else if (op === 'toolArgs') w.toolArgs(i, pick(['{"a"', ':1', '}']))
      else if (op === 'toolEnd') w.toolEnd(i)
      else w.usage({ inputTokens: s, outputTokens: s })
      out += w.take()
    }
    const end = pick(['finish', 'finish', 'length', 'error', 'none'] as const)
    ops.push(end)
    if (end === 'finish') w.finish(tools ? 'tool_calls' : 'stop')
    else if (end === 'length') w.finish('length')
    else if (end === 'error') w.error({ status: pick([429, 500, 529]), message: 'boom' })
    w.close()
    out += w.take()
    const terminal = checkStream(out, `${ops.join(' ')} (FUZZ_SEED=${SEED})`)
    const expected = end === 'finish' ? 'response.completed' : end === 'length' ? 'response.incomplete' : 'response.failed'
    assert.equal(terminal.type, expected, ops.join(' '))
    assert.equal(w.failure !== undefined, expected === 'response.failed')
  }
})
