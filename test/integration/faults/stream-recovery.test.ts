/**
 * Broken streams end to end: a failure before anything reached the client (malformed SSE, a bad
 * translated event, an early end, a reset right after the role chunk) fails over invisibly; one after
 * the client got chunks ends the stream with an error event, never a clean success.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { startHttpServer } from '../../support/http-server.js'
import type { Upstream } from '../../support/openai-upstream.js'
import { chat, rig, show } from '../../support/fault-rig.js'

/** A two-cluster fallback chain: A, then B. */
const aThenB = (u: Record<string, Upstream>) => `
routes:
  - name: main
    rules:
      - fallback: { clusters: [{ cluster: only-a }, { cluster: only-b }] }
clusters:
  - { name: only-a, provider: openai, endpoints: [{ url: "${u.A.url}" }] }
  - { name: only-b, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`

test('a malformed SSE event before anything reached the client is retried invisibly', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B'], aThenB)
  up.A.failNext('malformed-first')
  const r = await chat(port, { stream: true })
  assert.equal(r.status, 200, show(r))
  assert.ok(!r.text.includes('not json'), `the malformed event reached the client: ${show(r)}\n${gw.output()}`)
  assert.equal(r.content, 'Hello from B.', show(r))
  assert.equal(r.events.at(-1), '[DONE]', show(r))
  assert.equal(r.headers.get('x-switchyard-cluster'), 'only-b', show(r))
})

test('a malformed SSE event after the client got chunks ends the stream with an error event, never a clean success', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B'], aThenB)
  up.A.failNext('malformed-event')
  const r = await chat(port, { stream: true })
  assert.equal(r.status, 200, show(r))
  assert.ok(r.content.startsWith('partial '), show(r))
  assert.ok(!r.events.includes('[DONE]'), `the stream ended as a success: ${show(r)}\n${gw.output()}`)
  const last = JSON.parse(r.events.at(-1) ?? 'null')
  assert.equal(typeof last?.error?.message, 'string', `the last event is not an error event: ${show(r)}`)
})

/** An Anthropic Messages upstream that streams `events` (already framed) and then closes. */
async function startAnthropicStream(t: TestContext, events: string[]): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server = await startHttpServer((req, res) => {
    req.resume()
    req.on('end', () => {
      hits++
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.end(events.join(''))
    })
  })
  t.after(() => server.close())
  return { url: server.origin, hits: () => hits }
}

const anthropicEvent = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
const ANTHROPIC_START = anthropicEvent('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } })

test('a translated stream that breaks after its first bytes ends with an error event, never as a success', async (t) => {
  const broken = await startAnthropicStream(t, [ANTHROPIC_START, anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'partial' } })])
  const { port } = await rig(t, [], () => `
routes: [{ name: main, rules: [{ cluster: broken }] }]
clusters: [{ name: broken, provider: anthropic, endpoints: [{ url: "${broken.url}", api_key: k }] }]
`)
  const r = await chat(port, { stream: true })
  assert.equal(r.status, 200, show(r))
  assert.equal(r.content, 'partial', show(r))
  assert.ok(!r.events.includes('[DONE]'), `the stream ended as a success: ${show(r)}`)
  assert.match(JSON.parse(r.events.at(-1)!).error.message, /ended before the response was complete/, show(r))
})

test('a translated stream that fails before the client got anything (bad event, upstream error event, early end) is failed over invisibly', async (t) => {
  const cases = {
    // Each fails before any content: the role chunk that message_start yields is held back until
    // real output follows, so failing right after it is still invisible.
    malformed: await startAnthropicStream(t, ['event: message_start\ndata: {"type":"message_start",\n\n']),
    overloaded: await startAnthropicStream(t, [anthropicEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })]),
    early: await startAnthropicStream(t, []),
    'overloaded-after-start': await startAnthropicStream(t, [ANTHROPIC_START, anthropicEvent('ping', {}), anthropicEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })]),
    'closed-after-start': await startAnthropicStream(t, [ANTHROPIC_START]),
  }
  const { port } = await rig(t, ['B'], (u) => `
routes:
  - name: main
    rules:
${Object.keys(cases).map((k) => `      - { match: { headers: [{ name: x-case, exact: ${k} }] }, fallback: { clusters: [{ cluster: ${k} }, { cluster: backup }] } }`).join('\n')}
clusters:
${Object.entries(cases).map(([k, c]) => `  - { name: ${k}, provider: anthropic, endpoints: [{ url: "${c.url}", api_key: k }] }`).join('\n')}
  - { name: backup, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`)
  for (const [k, c] of Object.entries(cases)) {
    const r = await chat(port, { headers: { 'x-case': k }, stream: true })
    assert.equal(c.hits(), 1, `${k}: the anthropic upstream was not asked`)
    assert.equal(r.status, 200, `${k}: ${show(r)}`)
    assert.equal(r.content, 'Hello from B.', `${k}: ${show(r)}`)
    assert.equal(r.headers.get('x-switchyard-cluster'), 'backup', `${k}: ${show(r)}`)
    assert.ok(!r.text.includes('error'), `${k}: the client saw the failure: ${show(r)}`)
  }
})

test("a stream's opening alone (the role chunk) is held back: a reset right after it fails over invisibly, a long think still gets headers after ~1 s", async (t) => {
  const { port, up } = await rig(t, ['A', 'B'], aThenB)
  up.A.failNext('role-then-reset')
  const r = await chat(port, { stream: true })
  assert.equal(r.content, 'Hello from B.', show(r))
  assert.equal(r.headers.get('x-switchyard-cluster'), 'only-b', show(r))
  assert.equal(r.headers.get('x-switchyard-attempts'), '2', show(r))

  // A model that thinks for 1.8 s after its role chunk: the client gets headers and the role chunk
  // when the hold ends (~1 s), not only with the first token.
  up.A.failNext('role-then-think:1800')
  const t0 = performance.now()
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const headersAt = performance.now() - t0
  const body = await res.text()
  const doneAt = performance.now() - t0
  assert.ok(headersAt >= 900 && headersAt < 1600, `headers after ${headersAt.toFixed(0)} ms (hold 1000 ms, first token at 1800 ms)`)
  assert.ok(doneAt >= 1750, `answer complete after ${doneAt.toFixed(0)} ms`)
  assert.match(body, /"role":"assistant"[\s\S]*Thought it through\.[\s\S]*\[DONE\]/, body)
})
