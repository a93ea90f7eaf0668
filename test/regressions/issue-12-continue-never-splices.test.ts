/**
 * Issue 12 (B): `stream_recovery: continue` never splices two answers. When the first cluster's
 * stream breaks mid-answer, the next fallback gets the original messages plus the text the client
 * already has — as a prefill where the cluster has one (Anthropic: a final assistant message,
 * trailing whitespace trimmed; `continuation_prefill: vllm` / the vllm preset:
 * `continue_final_message`; the deepseek preset: `prefix: true`; otherwise a user turn asking to
 * continue) — and a continuation that restates the opening or opens with a preamble is discarded:
 * the client's stream ends with an error event instead of a second answer glued to the first.
 *
 * One gateway process, the official `openai` SDK as the client; the first cluster always sends
 * "The quick brown " and then resets the connection.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import OpenAI from 'openai'
import { BIN, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'
import { anthropicTextEvents, chatChunks, cut, sendSseHead, writePaced } from '../support/wire-formats.js'

const SENTENCE = 'The quick brown fox jumps over the lazy dog.'
const BEFORE_CUT = 'The quick brown '
const USER = { role: 'user', content: 'Write the pangram.' }

let first: ScriptedUpstream
let claude: ScriptedUpstream
let vllm: ScriptedUpstream
let deepseek: ScriptedUpstream
let plain: ScriptedUpstream
let gw: GatewayProcess
let base: string

/** How the Anthropic server continues, given its prefill (the final assistant message's text). */
let claudeContinues: (prefill: string) => string
/** What the OpenAI-format fallbacks answer. */
let openaiAnswer: string

/** Pieces a text is streamed in: two, so the gateway's check sees the opening arrive in parts. */
const halves = (s: string) => [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))].filter((p) => p !== '')

function openaiStreamer(id: string): ScriptedUpstream['answer'] {
  return (_req, res) => {
    sendSseHead(res)
    void writePaced(res, chatChunks(id, 'backup-model', halves(openaiAnswer), { usage: true })).then(() => res.end())
  }
}

before(async () => {
  first = await startScriptedUpstream()
  first.answer = (_req, res) => {
    sendSseHead(res)
    // The answer starts, then the upstream dies: what the client has must stay all it ever gets of this answer.
    void writePaced(res, chatChunks('chatcmpl-first', 'gpt-4o', ['The quick ', 'brown '], { finish: false }), 10)
      .then(() => new Promise((r) => setTimeout(r, 30)))
      .then(() => cut(res))
  }
  claude = await startScriptedUpstream()
  claude.answer = (req, res) => {
    const body = JSON.parse(req.body)
    const last = body.messages.at(-1)
    const prefill = last.role !== 'assistant' ? '' : typeof last.content === 'string' ? last.content : last.content.map((b: { text?: string }) => b.text ?? '').join('')
    sendSseHead(res)
    void writePaced(res, anthropicTextEvents('msg_cont', body.model, halves(claudeContinues(prefill)))).then(() => res.end())
  }
  vllm = await startScriptedUpstream()
  vllm.answer = openaiStreamer('chatcmpl-vllm')
  deepseek = await startScriptedUpstream()
  deepseek.answer = openaiStreamer('chatcmpl-deepseek')
  plain = await startScriptedUpstream()
  plain.answer = openaiStreamer('chatcmpl-plain')
  const port = await freePort()
  const route = (name: string, cluster: string) => `
      - name: to-${name}
        match: { headers: [{ name: x-case, exact: ${name} }] }
        fallback: { clusters: [{ cluster: first }, { cluster: ${cluster} }] }
        stream_recovery: continue`
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:${route('claude', 'claude')}${route('vllm', 'vllm-server')}${route('vllm-preset', 'vllm-preset')}${route('deepseek', 'deepseek')}${route('plain', 'plain')}
clusters:
  - { name: first, provider: openai, endpoints: [{ url: "${first.url}/v1", api_key: k1 }] }
  - { name: claude, provider: anthropic, endpoints: [{ url: "${claude.url}/v1", api_key: k2 }] }
  - { name: vllm-server, provider: openai, continuation_prefill: vllm, endpoints: [{ url: "${vllm.url}/v1", api_key: k3 }] }
  - { name: vllm-preset, provider: vllm, endpoints: [{ url: "${vllm.url}/v1" }] }
  - { name: deepseek, provider: deepseek, endpoints: [{ url: "${deepseek.url}/v1", api_key: k4 }] }
  - { name: plain, provider: openai, endpoints: [{ url: "${plain.url}/v1", api_key: k5 }] }
`)
  base = `http://127.0.0.1:${port}/v1`
})

after(async () => {
  const code = await gw?.stop()
  for (const u of [first, claude, vllm, deepseek, plain]) await u?.close()
  assert.equal(code, 0, gw?.output())
})

interface Received {
  text: string
  ids: Set<string>
  roles: number
  finish: string | null
  /** Chunks with `choices: []`: usage chunks, which only a client that asked for them may get. */
  usageChunks: number
  error: unknown
}

/** Streams one chat answer through the openai SDK, keeping what arrived before any error. */
async function streamChat(xcase: string): Promise<Received> {
  const client = new OpenAI({ baseURL: base, apiKey: 'caller-key', maxRetries: 0, defaultHeaders: { 'x-case': xcase } })
  const got: Received = { text: '', ids: new Set(), roles: 0, finish: null, usageChunks: 0, error: undefined }
  try {
    const s = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [USER as OpenAI.Chat.ChatCompletionMessageParam] })
    for await (const ch of s) {
      got.ids.add(ch.id)
      if (ch.choices.length === 0) got.usageChunks++
      if (ch.choices[0]?.delta?.role) got.roles++
      got.text += ch.choices[0]?.delta?.content ?? ''
      got.finish = ch.choices[0]?.finish_reason ?? got.finish
    }
  } catch (e) {
    got.error = e
  }
  return got
}

function assertCoherent(got: Received, what: string): void {
  assert.equal(got.error, undefined, `${what}: ${got.error}`)
  assert.equal(got.text, SENTENCE, what)
  assert.deepEqual([...got.ids], ['chatcmpl-first'], `${what}: one id across the splice`)
  assert.equal(got.roles, 1, `${what}: one role delta`)
  assert.equal(got.finish, 'stop', what)
  assert.equal(got.usageChunks, 0, `${what}: a usage chunk nobody asked for`)
}

test('Anthropic fallback: the prefix is its final assistant message (trimmed) and the client gets one coherent answer', async () => {
  claudeContinues = () => 'fox jumps over the lazy dog.'
  const n = claude.requests.length
  const got = await streamChat('claude')
  assertCoherent(got, 'anthropic prefill')
  assert.equal(claude.requests.length, n + 1)
  const sent = JSON.parse(claude.requests.at(-1)!.body)
  assert.equal(sent.stream, true)
  const [user, assistant] = sent.messages
  assert.equal(sent.messages.length, 2, JSON.stringify(sent.messages))
  assert.equal(user.role, 'user')
  assert.match(JSON.stringify(user.content), /Write the pangram\./)
  assert.equal(assistant.role, 'assistant')
  const prefill = typeof assistant.content === 'string' ? assistant.content : assistant.content.map((b: { text: string }) => b.text).join('')
  assert.equal(prefill, 'The quick brown', 'Anthropic refuses a final assistant message that ends in whitespace')
})

test('Anthropic fallback: a model that continues right after the trimmed prefill (" fox…") reads as one sentence', async () => {
  // What a real model does: the prefill ended at "brown", so its continuation starts with the space.
  claudeContinues = (prefill) => (SENTENCE.startsWith(prefill) ? SENTENCE.slice(prefill.length) : `(unexpected prefill ${JSON.stringify(prefill)})`)
  const got = await streamChat('claude')
  assertCoherent(got, 'anthropic prefill, continuation with its leading space')
})

test('Anthropic fallback: a continuation shorter than the check window still reaches the client', async () => {
  claudeContinues = () => 'fox.'
  const got = await streamChat('claude')
  assert.equal(got.error, undefined, String(got.error))
  assert.equal(got.text, 'The quick brown fox.', 'the held continuation was lost at the end of the stream')
  assert.equal(got.finish, 'stop')
})

test('Anthropic fallback: the client that did not ask for usage gets no usage chunk from the continuation', async () => {
  claudeContinues = () => 'fox jumps over the lazy dog.'
  const got = await streamChat('claude')
  assert.equal(got.text, SENTENCE)
  assert.equal(got.usageChunks, 0, 'a `choices: []` usage chunk reached a client that never set stream_options.include_usage')
})

test('continuation_prefill: vllm — the prefix as the final assistant message with continue_final_message', async () => {
  openaiAnswer = 'fox jumps over the lazy dog.'
  for (const xcase of ['vllm', 'vllm-preset']) {
    const n = vllm.requests.length
    const got = await streamChat(xcase)
    assertCoherent(got, xcase)
    assert.equal(vllm.requests.length, n + 1)
    const sent = JSON.parse(vllm.requests.at(-1)!.body)
    assert.equal(sent.continue_final_message, true, xcase)
    assert.equal(sent.add_generation_prompt, false, xcase)
    assert.deepEqual(sent.messages, [USER, { role: 'assistant', content: BEFORE_CUT }], xcase)
  }
})

test('the deepseek preset: the prefix as the final assistant message with prefix: true', async () => {
  openaiAnswer = 'fox jumps over the lazy dog.'
  const got = await streamChat('deepseek')
  assertCoherent(got, 'deepseek')
  const sent = JSON.parse(deepseek.requests.at(-1)!.body)
  assert.deepEqual(sent.messages, [USER, { role: 'assistant', content: BEFORE_CUT, prefix: true }])
  assert.equal(sent.continue_final_message, undefined)
})

test('no prefill: a fallback that answers afresh is discarded; the client stream ends with an error, never the text twice', async () => {
  openaiAnswer = SENTENCE
  const n = plain.requests.length
  const got = await streamChat('plain')
  assert.equal(plain.requests.length, n + 1, 'the fallback was asked to continue')
  const sent = JSON.parse(plain.requests.at(-1)!.body)
  assert.deepEqual(sent.messages.slice(0, 2), [USER, { role: 'assistant', content: BEFORE_CUT }])
  assert.equal(sent.messages.length, 3)
  assert.equal(sent.messages[2].role, 'user', 'without a prefill the model is asked to continue in a user turn')
  assert.equal(sent.continue_final_message, undefined)
  assert.ok(got.error instanceof OpenAI.APIError, `the restarted answer was not refused: ${JSON.stringify(got.text)} (${got.error})`)
  assert.equal(got.text, BEFORE_CUT, 'the client received more than the text before the cut')
  assert.match((got.error as Error).message, /restarted the answer/)

  // On the wire: the first answer's chunks, then one error event; no [DONE], nothing of the second answer.
  const raw = await (await fetch(`${base}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-case': 'plain' }, body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [USER] }),
  })).text()
  const events = raw.split('\n\n').filter((e) => e.trim() !== '')
  assert.match(events.at(-1)!, /^data: \{"error":/, raw)
  assert.doesNotMatch(raw, /\[DONE\]/)
  assert.doesNotMatch(raw, /fox|jumps/)
  assert.equal((raw.match(/quick/g) ?? []).length, 1, raw)
})

test('no prefill: a continuation that opens with a preamble is discarded too', async () => {
  for (const answer of ['Sure! Here is the rest: fox jumps over the lazy dog.', 'I apologize for the interruption. fox jumps over the lazy dog.', '  the QUICK   brown fox jumps over the lazy dog.']) {
    openaiAnswer = answer
    const got = await streamChat('plain')
    assert.ok(got.error instanceof OpenAI.APIError, `${JSON.stringify(answer)} was spliced: ${JSON.stringify(got.text)}`)
    assert.equal(got.text, BEFORE_CUT, JSON.stringify(answer))
  }
})

test('no prefill: a fallback that does continue is spliced in', async () => {
  openaiAnswer = 'fox jumps over the lazy dog.'
  assertCoherent(await streamChat('plain'), 'plain continuation')
})

test('switchyard validate warns about a continue route that falls back to a cluster without prefill, and exits 0', () => {
  const r = spawnSync(process.execPath, [BIN, 'validate', '-c', gw.configPath], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  const warnings = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('warning:'))
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0], /cluster 'plain'/)
  assert.match(warnings[0], /continuation_prefill/)
  assert.match(r.stdout, /: ok /)
})
