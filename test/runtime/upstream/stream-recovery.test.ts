/**
 * stream_recovery: continue, piece by piece: what the recorder keeps of the bytes the client got,
 * the continuation request in each prefill form, the restart check, and the rewriter that splices a
 * continuation into the original stream (or refuses it).
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ContinuationPrefill } from '../../../src/compiler/ir.js'
import { ContinuationRewriter, StreamRecorder, continuationRequest, restarted } from '../../../src/runtime/upstream/stream-recovery.js'

const chunk = (delta: object, finish: string | null = null, id = 'chatcmpl-new', model = 'other-model', created = 2) =>
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`

/** A recorder that has seen the opening of an answer from `chatcmpl-orig` / `gpt-4o`. */
function recorded(text: string): StreamRecorder {
  const r = new StreamRecorder()
  r.push(Buffer.from(chunk({ role: 'assistant', content: '' }, null, 'chatcmpl-orig', 'gpt-4o', 1) + chunk({ content: text }, null, 'chatcmpl-orig', 'gpt-4o', 1)))
  return r
}

/** The JSON of every data event in `bytes` ([DONE] as the string). */
function events(bytes: Buffer | string): any[] {
  return String(bytes).split('\n\n').filter((e) => e.startsWith('data:')).map((e) => {
    const d = e.slice(5).trim()
    return d === '[DONE]' ? d : JSON.parse(d)
  })
}

describe('StreamRecorder', () => {
  test('records the content of chat.completion.chunk events and the first id, model and created', () => {
    const r = new StreamRecorder()
    r.push(Buffer.from(chunk({ role: 'assistant', content: '' }, null, 'a', 'm1', 1) + chunk({ content: 'Hel' }, null, 'b', 'm2', 2) + chunk({ content: 'lo' }, null, 'c', 'm3', 3)))
    assert.deepStrictEqual({ text: r.text, id: r.id, model: r.model, created: r.created }, { text: 'Hello', id: 'a', model: 'm1', created: 1 })
  })

  test('an event cut across two writes is recorded once it is complete', () => {
    const r = new StreamRecorder()
    const bytes = Buffer.from(chunk({ content: 'split here' }))
    r.push(bytes.subarray(0, 20))
    assert.equal(r.text, '')
    r.push(bytes.subarray(20))
    assert.equal(r.text, 'split here')
  })

  test('[DONE], error events, comments and garbage record nothing', () => {
    const r = new StreamRecorder()
    r.push(Buffer.from(': keep-alive\n\ndata: {"error":{"message":"boom"}}\n\ndata: {not json\n\ndata: [DONE]\n\n'))
    assert.deepStrictEqual({ text: r.text, id: r.id }, { text: '', id: undefined })
  })
})

describe('continuationRequest', () => {
  const original = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Count to five.' }] }
  const cases: { prefill: ContinuationPrefill; prefix: string; expected: object }[] = [
    {
      prefill: 'assistant', prefix: 'One, two, ',
      // Anthropic refuses a final assistant turn that ends in whitespace.
      expected: { ...original, messages: [...original.messages, { role: 'assistant', content: 'One, two,' }] },
    },
    {
      prefill: 'vllm', prefix: 'One, two, ',
      expected: { ...original, messages: [...original.messages, { role: 'assistant', content: 'One, two, ' }], continue_final_message: true, add_generation_prompt: false },
    },
    {
      prefill: 'deepseek', prefix: 'One, two, ',
      expected: { ...original, messages: [...original.messages, { role: 'assistant', content: 'One, two, ', prefix: true }] },
    },
    {
      prefill: 'none', prefix: 'One, two, ',
      expected: {
        ...original,
        messages: [...original.messages, { role: 'assistant', content: 'One, two, ' },
          { role: 'user', content: 'Your previous reply was cut off. Continue it exactly where it stopped: do not repeat any of it and do not add a preamble.' }],
      },
    },
  ]
  for (const c of cases) {
    test(`prefill ${c.prefill}: the text so far goes into the request as ${c.prefill === 'none' ? 'an assistant turn and a user turn asking to continue' : 'the final assistant turn'}`, () => {
      assert.deepStrictEqual(continuationRequest(original, c.prefix, c.prefill), c.expected)
    })
  }

  test('the original request is left unchanged', () => {
    const before = structuredClone(original)
    continuationRequest(original, 'One', 'deepseek')
    assert.deepStrictEqual(original, before)
  })

  test('a request without a messages array gets one holding only the prefill', () => {
    assert.deepStrictEqual(continuationRequest({ model: 'm' }, 'Hi', 'assistant'), { model: 'm', messages: [{ role: 'assistant', content: 'Hi' }] })
  })
})

describe('restarted', () => {
  const cases: { prefix: string; continuation: string; restarted: boolean; why: string }[] = [
    { prefix: 'The capital of France is', continuation: ' Paris, a city of two million.', restarted: false, why: 'it picks up where the text stopped' },
    { prefix: 'The capital of France is', continuation: 'The capital of France is Paris.', restarted: true, why: 'it restates the opening' },
    { prefix: 'The capital of France is', continuation: 'the  CAPITAL of\nfrance is Paris', restarted: true, why: 'it restates the opening, case and whitespace aside' },
    { prefix: 'The capital', continuation: 'Sure! The capital of France is Paris.', restarted: true, why: 'it opens with a preamble' },
    { prefix: 'The capital', continuation: "Here's the answer: Paris.", restarted: true, why: "it opens with here's" },
    { prefix: 'The capital', continuation: 'I apologize, the capital is Paris.', restarted: true, why: 'it opens with an apology' },
    { prefix: 'The capital', continuation: 'As I was saying, Paris.', restarted: true, why: 'it opens with as I was saying' },
    { prefix: 'The capital', continuation: 'Surely not', restarted: false, why: 'it only starts like a preamble word (surely, not sure)' },
    { prefix: 'The', continuation: 'The', restarted: false, why: 'fewer than four characters are there to compare' },
  ]
  for (const c of cases) {
    test(`a continuation ${c.restarted ? 'counts' : 'does not count'} as a restart when ${c.why}`, () => {
      assert.equal(restarted(c.prefix, c.continuation), c.restarted)
    })
  }
})

describe('ContinuationRewriter', () => {
  test('continuation chunks carry the original id, model and created, and no second role delta', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    const out = w.push(Buffer.from(chunk({ role: 'assistant', content: ' Paris, the largest city of the country' })))
    assert.deepStrictEqual(events(out), [{ id: 'chatcmpl-orig', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: ' Paris, the largest city of the country' }, finish_reason: null }] }])
  })

  test('nothing is released until enough text shows the continuation continues', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    assert.equal(w.push(Buffer.from(chunk({ content: ' Paris' }))).length, 0)
    assert.equal(w.push(Buffer.from(chunk({ content: ', which is' }))).length, 0)
    const out = w.push(Buffer.from(chunk({ content: ' the largest city.' })))
    assert.deepStrictEqual(events(out).map((e) => e.choices[0].delta.content), [' Paris', ', which is', ' the largest city.'])
    assert.equal(w.refused, false)
  })

  test('once released, later chunks pass at once', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    w.push(Buffer.from(chunk({ content: ' Paris, the largest city in France' })))
    assert.deepStrictEqual(events(w.push(Buffer.from(chunk({ content: '!' })))).map((e) => e.choices[0].delta.content), ['!'])
  })

  test('a short continuation that finishes is released on its finish_reason', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    const out = w.push(Buffer.from(chunk({ content: ' Paris.' }) + chunk({}, 'stop')))
    assert.deepStrictEqual(events(out).map((e) => e.choices[0].finish_reason), [null, 'stop'])
  })

  test('a short continuation is released on [DONE], which passes through', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    const out = w.push(Buffer.from(chunk({ content: ' Paris.' }) + 'data: [DONE]\n\n'))
    assert.deepStrictEqual(events(out).at(-1), '[DONE]')
  })

  test('a continuation that restarts the answer is refused and nothing of it is released', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    const out = [w.push(Buffer.from(chunk({ content: 'The capital of France' }))), w.push(Buffer.from(chunk({ content: ' is Paris.' }) + chunk({}, 'stop')))]
    assert.deepStrictEqual(out.map((b) => b.length), [0, 0])
    assert.equal(w.refused, true)
  })

  test('an event cut across two reads is rewritten once it is complete', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    const bytes = Buffer.from(chunk({ content: ' Paris, the largest city of the country' }))
    assert.equal(w.push(bytes.subarray(0, 30)).length, 0)
    assert.deepStrictEqual(events(w.push(bytes.subarray(30)))[0].choices[0].delta.content, ' Paris, the largest city of the country')
  })

  test('an event that is not JSON passes through unchanged', () => {
    const w = new ContinuationRewriter(recorded('The capital of France is'))
    const out = w.push(Buffer.from(chunk({ content: ' Paris, the largest city of the country' }) + 'data: {not json\n\n'))
    assert.ok(String(out).endsWith('data: {not json\n\n'), String(out))
  })
})
