/**
 * Issue 10: the request path, fuzzed (bounded and seeded, so a failure reproduces). Valid OpenAI
 * and Anthropic requests are mutated — a node replaced by null, a number, a string, an array,
 * an object, a lone surrogate; a key dropped — and sent through every front door × translation
 * pair. In process, every translator either translates or throws a TranslationError (a 400);
 * against a real gateway with two workers, no request ends in an internal error and the process
 * never exits.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mutate, prng } from '../support/fuzz.js'
import { createProtocolTranslator, TranslationError } from '../../src/runtime/providers/translate/index.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { openAICompletion, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261202)


const IMAGE = 'data:image/png;base64,iVBORw0KGgo='
const OPENAI_SEEDS = [
  { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
  {
    model: 'm', stream: true, stream_options: { include_usage: true }, temperature: 0.2, top_p: 0.9, max_tokens: 10, stop: ['x'], user: 'u',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: IMAGE } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
    ],
    tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object', properties: { a: { type: 'number' } } } } }],
    tool_choice: { type: 'function', function: { name: 'f' } }, parallel_tool_calls: false,
    response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object', properties: { a: { type: ['string', 'null'] } } } } },
  },
]
const ANTHROPIC_SEEDS = [
  { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
  {
    model: 'm', max_tokens: 10, stream: true, system: [{ type: 'text', text: 'be brief' }], stop_sequences: ['x'], temperature: 0.5, metadata: { user_id: 'u' },
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'calling' }, { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'done' }] }] },
    ],
    tools: [{ name: 'f', description: 'd', input_schema: { type: 'object', properties: { a: { type: 'number' } } } }],
    tool_choice: { type: 'tool', name: 'f', disable_parallel_tool_use: true },
  },
]

const ODD_VALUES: unknown[] = [null, 0, -1, 5.5, '', 'x', '\ud800', '..', true, [], [null], {}, { type: 5 }, { type: 'text' }, [[]], { role: null }]


test('every translator translates a mutated request or refuses it with a TranslationError, never another exception', () => {
  const rnd = prng(SEED)
  const pairs = [
    ['openai', 'anthropic'], ['openai', 'gemini'], ['openai', 'bedrock'],
    ['anthropic', 'openai'], ['anthropic', 'gemini'], ['anthropic', 'bedrock'],
  ] as const
  let translated = 0
  let refused = 0
  for (const [caller, upstream] of pairs) {
    const t = createProtocolTranslator(caller, upstream)
    const seeds = caller === 'openai' ? OPENAI_SEEDS : ANTHROPIC_SEEDS
    for (let i = 0; i < 700; i++) {
      const body = mutate(seeds[i % seeds.length], rnd, ODD_VALUES)
      try {
        t.request(body)
        translated++
      } catch (e) {
        if (!(e instanceof TranslationError)) assert.fail(`${caller} → ${upstream} threw ${(e as Error)?.stack}\nfor ${JSON.stringify(body)} (FUZZ_SEED=${SEED})`)
        refused++
      }
    }
  }
  // Both outcomes must be common, or the mutations are not exercising anything.
  assert.ok(translated > 500 && refused > 500, `translated ${translated}, refused ${refused}`)
})

// ---------------------------------------------------------------- against a real gateway process

let up: ScriptedUpstream
let gw: GatewayProcess
let port: number
const CLUSTERS = ['openai', 'anthropic', 'gemini', 'bedrock', 'azure']

before(async () => {
  up = await startScriptedUpstream()
  up.answer = answerLikeTheProvider
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
${CLUSTERS.filter((c) => c !== 'openai').map((c) => `      - { match: { headers: [{ name: x-to, exact: ${c} }] }, cluster: ${c} }`).join('\n')}
      - { cluster: openai }
clusters:
  - { name: openai, provider: openai, endpoints: [{ url: "${up.url}/v1", api_key: k1 }] }
  - { name: anthropic, provider: anthropic, endpoints: [{ url: "${up.url}/v1", api_key: k2 }] }
  - { name: gemini, provider: gemini, endpoints: [{ url: "${up.url}", api_key: k3 }] }
  - name: bedrock
    provider: bedrock
    endpoints: [{ url: "${up.url}" }]
    bedrock: { region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: s3cr3t-aws }
  - { name: azure, provider: azure_openai, endpoints: [{ url: "${up.url}", api_key: k5 }], azure: { api_version: 2024-10-21 } }
`, { workers: 2 })
})

after(async () => {
  await gw?.stop()
  await up?.close()
})

/** A minimal valid answer in the wire format the request's path asks for. */
function answerLikeTheProvider(req: { url: string; body: string }, res: import('node:http').ServerResponse): void {
  let stream = false
  try { stream = JSON.parse(req.body)?.stream === true } catch {}
  const url = req.url
  if (url.includes('/chat/completions')) {
    if (!stream) return void res.writeHead(200, { 'content-type': 'application/json' }).end(openAICompletion())
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
    return void res.end(chunk({ role: 'assistant', content: 'ok' }, null) + chunk({}, 'stop') + 'data: [DONE]\n\n')
  }
  if (url.endsWith('/messages')) {
    if (!stream) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'msg', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } }))
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
    return void res.end(
      ev('message_start', { message: { id: 'msg', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 0 } } }) +
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) + ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'ok' } }) +
      ev('content_block_stop', { index: 0 }) + ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } }) + ev('message_stop', {}),
    )
  }
  const gemini = { candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1 } }
  if (url.includes(':streamGenerateContent')) return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${JSON.stringify(gemini)}\n\n`)
  if (url.includes(':generateContent')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(gemini))
  if (url.endsWith('/converse')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }))
  res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'not served by this fuzz upstream' }))
}

test('thousands of mutated requests over every front door and cluster: no internal error, no process exit', async () => {
  const rnd = prng(SEED + 1)
  const statuses = new Map<number, number>()
  let i = 0
  const total = 1600
  const one = async () => {
    const n = i++
    const anthropicDoor = rnd() < 0.5
    const to = CLUSTERS[Math.floor(rnd() * CLUSTERS.length)]
    const seeds = anthropicDoor ? ANTHROPIC_SEEDS : OPENAI_SEEDS
    const garbage = rnd() < 0.05
    const body = garbage ? Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))) : JSON.stringify(mutate(seeds[n % seeds.length], rnd, ODD_VALUES))
    const r = await fetch(`http://127.0.0.1:${port}${anthropicDoor ? '/v1/messages' : '/v1/chat/completions'}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-to': to }, body,
    })
    const text = await r.text()
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    assert.ok(!/internal gateway error/.test(text), `request ${n} (${anthropicDoor ? 'anthropic' : 'openai'} → ${to}) hit an internal error: ${text}\nbody: ${body} (FUZZ_SEED=${SEED})`)
    assert.notEqual(r.status, 500, `request ${n}: ${text}`)
  }
  const lanes = Array.from({ length: 8 }, async () => { while (i < total) await one() })
  await Promise.all(lanes)
  assert.equal(gw.child.exitCode, null, `gateway exited:\n${gw.output()}`)
  const ready = (await (await fetch(`${gw.admin}/ready`)).json()) as { ready: boolean; workers: unknown[] }
  assert.equal(ready.ready, true)
  assert.equal(ready.workers.length, 2)
  assert.doesNotMatch(gw.output(), /worker failed|worker exited|request failed inside the gateway/)
  // Both answers and refusals must be common, or the fuzz is not reaching the translators.
  assert.ok((statuses.get(200) ?? 0) > 100 && (statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]))
})
