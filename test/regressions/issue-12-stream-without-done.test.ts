/**
 * Issue 12, item 2: several OpenAI-compatible servers close a complete stream without
 * `data: [DONE]`. When every choice reported its finish_reason and the usage chunk (which the
 * gateway asks for, and strips again when the client did not) arrived, the answer is whole: the
 * client gets it all, ended with `[DONE]` by the gateway, and the endpoint is not charged a
 * failure. A stream that stops before that stays a failure.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { sseData, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'

let up: ScriptedUpstream
let gw: GatewayProcess
let base: string
let client: OpenAI

before(async () => {
  up = await startScriptedUpstream()
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'caller', maxRetries: 0 })
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-fb, exact: "1" }] }, fallback: { clusters: [{ cluster: oa }, { cluster: spare }] } }
      - { cluster: oa }
clusters:
  - { name: oa, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: k }] }
  - { name: spare, provider: openai, endpoints: [{ url: "${up.url}/spare", api_key: k }] }
`)
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

const chunk = (choices: { index?: number; content?: string; finish?: string }[]) => ({
  id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm',
  choices: choices.map((c) => ({ index: c.index ?? 0, delta: c.content === undefined ? {} : { content: c.content }, finish_reason: c.finish ?? null })),
})
const USAGE_CHUNK = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }
const OPENING = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }

/** The upstream streams these events one write each, then closes cleanly — never `[DONE]`. */
function streamsWithoutDone(events: unknown[], opts: { oneWrite?: boolean } = {}): void {
  up.answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    if (opts.oneWrite) return void res.end(events.map(sseData).join(''))
    let i = 0
    const next = () => (i < events.length ? res.write(sseData(events[i++]), () => setImmediate(next)) : res.end())
    next()
  }
}

const COMPLETE = [OPENING, chunk([{ content: 'Hello' }]), chunk([{ content: ' world' }]), chunk([{ finish: 'stop' }]), USAGE_CHUNK]

async function failuresOf(cluster: string): Promise<number> {
  const body = (await (await fetch(`${gw.admin}/clusters`)).json()) as any
  const f = body[cluster]?.endpoints?.[0]?.failures
  assert.equal(typeof f, 'number', `/clusters has failures for ${cluster}: ${JSON.stringify(body[cluster])}`)
  return f
}

async function raw(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }], ...body }),
  })
  return { status: r.status, text: await r.text() }
}

async function sdkText(extra: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {}): Promise<{ texts: string[]; chunks: OpenAI.ChatCompletionChunk[] }> {
  const stream = await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }], ...extra })
  const chunks: OpenAI.ChatCompletionChunk[] = []
  const texts: string[] = []
  for await (const c of stream) {
    chunks.push(c)
    for (const ch of c.choices) texts[ch.index] = (texts[ch.index] ?? '') + (ch.delta?.content ?? '')
  }
  return { texts, chunks }
}

test('a complete stream without [DONE] (finish_reason, then the usage chunk, then a clean close) reaches the client whole and ended with [DONE]', async () => {
  streamsWithoutDone(COMPLETE)
  const failuresBefore = await failuresOf('oa')
  const seen = up.requests.length

  const { texts, chunks } = await sdkText()
  assert.deepEqual(texts, ['Hello world'])
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop')
  assert.ok(chunks.every((c) => c.choices.length > 0), 'the usage chunk the gateway asked for is stripped again')
  assert.equal(JSON.parse(up.requests.at(-1)!.body).stream_options?.include_usage, true, 'the gateway asked the upstream for usage')

  const r = await raw({})
  assert.equal(r.status, 200)
  assert.ok(r.text.endsWith('data: [DONE]\n\n'), `the raw stream ends with [DONE]:\n${r.text}`)
  assert.equal(r.text.split('data: [DONE]').length, 2, 'exactly one [DONE]')
  assert.doesNotMatch(r.text, /"error"|prompt_tokens/)

  // A client that asked for usage gets the usage chunk, then [DONE].
  const withUsage = await sdkText({ stream_options: { include_usage: true } })
  assert.deepEqual(withUsage.texts, ['Hello world'])
  assert.deepEqual(withUsage.chunks.at(-1)?.usage, USAGE_CHUNK.usage)

  assert.equal(up.requests.length, seen + 3)
  assert.equal(await failuresOf('oa'), failuresBefore, 'no failure charged to the endpoint')
})

test('on a fallback route, a complete stream without [DONE] is the answer: the fallback is not called', async () => {
  streamsWithoutDone(COMPLETE)
  const seen = up.requests.length
  const r = await raw({}, { 'x-fb': '1' })
  assert.equal(r.status, 200)
  assert.ok(r.text.endsWith('data: [DONE]\n\n'), r.text)
  assert.match(r.text, /Hello/)
  assert.deepEqual(up.requests.slice(seen).map((q) => q.url), ['/v1/chat/completions'])
})

test('a stream that closes without [DONE] and without any finish_reason is still a failure', async () => {
  streamsWithoutDone([OPENING, chunk([{ content: 'Hello' }]), chunk([{ content: ' wor' }])])
  const failuresBefore = await failuresOf('oa')

  await assert.rejects(sdkText(), (e: any) => {
    assert.ok(e instanceof OpenAI.APIError, `${e?.constructor?.name}: ${e?.message}`)
    assert.match(e.message, /stream ended before its end marker/)
    return true
  })
  const r = await raw({})
  assert.equal(r.status, 200, 'the stream had started')
  assert.match(r.text, /Hello/)
  assert.doesNotMatch(r.text, /\[DONE\]/)
  const last = r.text.trimEnd().split('\n\n').at(-1)!
  assert.match(last, /^data: \{"error":/, `the raw stream ends with an error event:\n${r.text}`)
  assert.equal(await failuresOf('oa'), failuresBefore + 2, 'each truncated stream is a failure of the endpoint')
})

test('every choice finished but the usage chunk the gateway asked for never came: still a failure', async () => {
  streamsWithoutDone([OPENING, chunk([{ content: 'Hello' }]), chunk([{ finish: 'stop' }])])
  const failuresBefore = await failuresOf('oa')
  await assert.rejects(sdkText(), (e: any) => e instanceof OpenAI.APIError && /stream ended before its end marker/.test(e.message))
  assert.equal(await failuresOf('oa'), failuresBefore + 1)
})

test('n=2: one choice finished and the other not is a failure; both finished is complete', async () => {
  const interleaved = [
    OPENING,
    chunk([{ index: 0, content: 'A' }]), chunk([{ index: 1, content: 'B' }]),
    chunk([{ index: 0, finish: 'stop' }]),
    chunk([{ index: 1, content: 'b' }]),
  ]
  streamsWithoutDone([...interleaved, USAGE_CHUNK])
  const failuresBefore = await failuresOf('oa')
  await assert.rejects(sdkText({ n: 2 }), (e: any) => e instanceof OpenAI.APIError && /stream ended before its end marker/.test(e.message))
  assert.equal(await failuresOf('oa'), failuresBefore + 1)

  streamsWithoutDone([...interleaved, chunk([{ index: 1, finish: 'length' }]), USAGE_CHUNK])
  const { texts } = await sdkText({ n: 2 })
  assert.deepEqual(texts, ['A', 'Bb'])
  assert.equal(await failuresOf('oa'), failuresBefore + 1)
})

test('n=2 sent in one write: a choice that finished long before the stream ends still counts as finished', async () => {
  // Choice 0 finishes first; choice 1 goes on for a few kilobytes; all of it reaches the gateway at once.
  const long = Array.from({ length: 40 }, (_, i) => chunk([{ index: 1, content: `word${i} `.repeat(8) }]))
  streamsWithoutDone([OPENING, chunk([{ index: 0, content: 'short' }]), chunk([{ index: 0, finish: 'stop' }]), ...long, chunk([{ index: 1, finish: 'stop' }]), USAGE_CHUNK], { oneWrite: true })
  const { texts } = await sdkText({ n: 2 })
  assert.equal(texts[0], 'short')
  assert.ok(texts[1].startsWith('word0 ') && texts[1].includes('word39 '), texts[1])
})
