/**
 * provider: kserve_grpc through the real gateway process against a real gRPC server implementing
 * the Open Inference Protocol (test/support/kserve-server.ts), called with the official `openai`
 * and `@anthropic-ai/sdk` clients: ModelInfer and ModelStreamInfer answers, the tensors sent,
 * the deadline, gRPC statuses as failure kinds (retry on 429, fallback on UNAVAILABLE, timeout on
 * a stalled call), the cancel when the client leaves, and ServerLive / ModelReady health checks.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startKserveServer, type KserveServer } from '../support/kserve-server.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const REPLY = 'Grüße from Triton, streamed ✓'
let vllm: KserveServer
let trt: KserveServer
let dead: { url: string }
let gw: GatewayProcess
let base: string
let openai: OpenAI

before(async () => {
  vllm = await startKserveServer({ reply: REPLY, chunks: 4, delayMs: 20, readyModels: ['llama'] })
  trt = await startKserveServer({ reply: 'from the ensemble', noTokenCounts: true, decoupledOnly: true })
  // A port nobody listens on: the channel's connect fails, gRPC says UNAVAILABLE.
  dead = { url: `http://127.0.0.1:${await freePort()}` }
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - match: { model: { exact: fallback-demo } }
        fallback: { clusters: [{ cluster: dead }, { cluster: triton, model_rewrite: llama }], on: [connect_failure] }
      - match: { model: { exact: slow } }
        cluster: triton
        timeout: 300ms
      - match: { model: { exact: ensemble } }
        cluster: trt
      - match: { headers: [{ name: x-retry, present: true }] }
        cluster: triton
        retry_policy: { retry_on: ['429'], num_retries: 2, base_interval: 5ms, max_interval: 10ms }
      - cluster: triton
        timeout: 20s
clusters:
  - name: triton
    provider: kserve_grpc
    endpoints: [{ url: "${vllm.url}", api_key: sk-triton }]
    kserve: { chat_template: chatml, channels: 2, ready_model: llama }
    health_check: { interval: 100ms, jitter: 10ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 1 }
  - name: trt
    provider: kserve_grpc
    endpoints: [{ url: "${trt.url}" }]
    kserve:
      decoupled: true
      sampling: tensors
      batch_dimension: true
      tensors: { exclude_input_in_output: "", input_tokens: "", output_tokens: "" }
      chat_template: { system: "[S]{content}[/S]", user: "[U]{content}[/U]", assistant: "[A]{content}[/A]", generation_prompt: "[A]" }
  - name: dead
    provider: kserve_grpc
    endpoints: [{ url: "${dead.url}" }]
`, { workers: 1 })
  base = `http://127.0.0.1:${port}`
  openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 })
})

after(async () => {
  const code = await gw?.stop()
  await vllm?.close()
  await trt?.close()
  assert.equal(code, 0, gw?.output())
})

const lastCall = (s: KserveServer) => s.calls[s.calls.length - 1]

test('a chat completion becomes ModelInfer with the prompt, stream flag and sampling parameters as tensors', async () => {
  const r = await openai.chat.completions.create({
    model: 'llama',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }],
    max_tokens: 64, temperature: 0.2, stop: ['\n\n'],
  })
  assert.equal(r.choices[0].message.content, REPLY)
  assert.equal(r.choices[0].finish_reason, 'stop')
  assert.equal(r.model, 'llama')
  assert.deepEqual(r.usage, { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 })
  const call = lastCall(vllm)
  assert.equal(call.rpc, 'ModelInfer')
  assert.equal(call.model, 'llama')
  assert.equal(call.inputs.text_input, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n')
  assert.equal(call.inputs.stream, false)
  assert.equal(call.inputs.exclude_input_in_output, true)
  assert.deepEqual(JSON.parse(String(call.inputs.sampling_parameters)), { max_tokens: 64, temperature: 0.2, stop: ['\n\n'] })
  // The endpoint's credential and the request id travel as gRPC metadata; the id is the request's too.
  assert.equal(call.metadata.authorization, 'Bearer sk-triton')
  assert.ok(call.id.length > 0)
  assert.equal(call.metadata['x-request-id'], call.id)
  // The route's timeout is the call's deadline.
  assert.ok(call.deadlineInMs !== undefined && call.deadlineInMs > 15_000 && call.deadlineInMs <= 20_000, String(call.deadlineInMs))
})

test('a streamed chat completion becomes ModelStreamInfer, each response one SSE chunk, usage at the end', async () => {
  const stream = await openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true } })
  const pieces: string[] = []
  let finish: string | null = null
  let usage: unknown
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage
    const c = chunk.choices[0]
    if (c?.delta?.content) pieces.push(c.delta.content)
    if (c?.finish_reason) finish = c.finish_reason
  }
  assert.equal(pieces.join(''), REPLY)
  assert.ok(pieces.length >= 4, `expected ≥ 4 chunks, got ${pieces.length}`)
  assert.equal(finish, 'stop')
  assert.deepEqual(usage, { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 })
  const call = lastCall(vllm)
  assert.equal(call.rpc, 'ModelStreamInfer')
  assert.equal(call.inputs.stream, true)
})

test('an Anthropic Messages call is translated to the gRPC backend and back, streamed too', async () => {
  const anthropic = new Anthropic({ baseURL: base, apiKey: 'unused', maxRetries: 0 })
  const msg = await anthropic.messages.create({ model: 'llama', max_tokens: 32, system: 'Terse.', messages: [{ role: 'user', content: 'Hello' }] })
  assert.equal(msg.content[0].type === 'text' && msg.content[0].text, REPLY)
  assert.equal(msg.stop_reason, 'end_turn')
  assert.equal(lastCall(vllm).inputs.text_input, '<|im_start|>system\nTerse.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n')
  const stream = anthropic.messages.stream({ model: 'llama', max_tokens: 32, messages: [{ role: 'user', content: 'Hello' }] })
  let text = ''
  for await (const e of stream) if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text
  assert.equal(text, REPLY)
})

test('a decoupled model with sampling tensors, a batch dimension and a custom template', async () => {
  const r = await openai.chat.completions.create({ model: 'ensemble', messages: [{ role: 'user', content: 'Q' }], max_tokens: 8, seed: 7, top_p: 0.9 })
  assert.equal(r.choices[0].message.content, 'from the ensemble')
  assert.equal(r.usage, undefined)
  const call = lastCall(trt)
  // Non-streamed, yet ModelStreamInfer: the model is decoupled (its ModelInfer would refuse).
  assert.equal(call.rpc, 'ModelStreamInfer')
  assert.equal(call.inputs.text_input, '[U]Q[/U][A]')
  assert.equal(call.inputs.max_tokens, 8)
  assert.equal(call.inputs.random_seed, 7)
  assert.ok(Math.abs(Number(call.inputs.top_p) - 0.9) < 1e-6)
  assert.equal(call.inputs.exclude_input_in_output, undefined)
  assert.equal(call.inputs.sampling_parameters, undefined)
})

test('RESOURCE_EXHAUSTED is a 429 the route retries', async () => {
  vllm.failNext({ kind: 'status', code: 8, details: 'queue full' }, 1)
  const before = vllm.calls.length
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-retry': '1' }, body: JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'x' }] }) })
  assert.equal(r.status, 200, await r.clone().text())
  assert.equal(vllm.calls.length - before, 2)
})

test('RESOURCE_EXHAUSTED without a retry reaches the caller as OpenAI 429 and Anthropic 429', async () => {
  vllm.failNext({ kind: 'status', code: 8, details: 'queue full', retryAfter: '3' }, 2)
  await assert.rejects(openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
    assert.equal(e.status, 429)
    assert.match(e.message, /queue full/)
    assert.equal(e.headers?.get?.('retry-after'), '3')
    return true
  })
  const anthropic = new Anthropic({ baseURL: base, apiKey: 'unused', maxRetries: 0 })
  await assert.rejects(anthropic.messages.create({ model: 'llama', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
    assert.equal(e.status, 429)
    assert.equal(e.error?.type, 'error')
    return true
  })
})

test('INVALID_ARGUMENT is a 400 in the caller\'s protocol; a request the backend cannot take is refused before any call', async () => {
  vllm.failNext({ kind: 'status', code: 3, details: 'prompt too long for this model' })
  await assert.rejects(openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status === 400 && /prompt too long/.test(e.message))
  const before = vllm.calls.length
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }),
    (e: any) => e.status === 400 && /'tools' are not supported by provider 'kserve_grpc'/.test(e.message),
  )
  await assert.rejects(openai.embeddings.create({ model: 'llama', input: 'x' }), (e: any) => e.status === 404 && /chat completions only/.test(e.message))
  assert.equal(vllm.calls.length, before)
})

test('UNAVAILABLE is a connect failure: the fallback takes the request', async () => {
  const r = await openai.chat.completions.create({ model: 'fallback-demo', messages: [{ role: 'user', content: 'x' }] }).withResponse()
  assert.equal(r.data.choices[0].message.content, REPLY)
  assert.equal(r.response.headers.get('x-switchyard-cluster'), 'triton')
})

test('a stalled call ends at the route timeout (504) and the backend sees the call cancelled', async () => {
  vllm.failNext({ kind: 'stall' })
  const cancelledBefore = vllm.cancelled()
  const t0 = Date.now()
  await assert.rejects(openai.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status === 504)
  assert.ok(Date.now() - t0 < 3000)
  const call = lastCall(vllm)
  assert.ok(call.deadlineInMs !== undefined && call.deadlineInMs <= 300, String(call.deadlineInMs))
  await eventually(() => vllm.cancelled() > cancelledBefore, undefined, 'the backend to see the cancel')
})

test('a client that leaves mid-stream cancels the gRPC call', async () => {
  const cancelledBefore = vllm.cancelled()
  const ac = new AbortController()
  const stream = await openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'long' }], stream: true }, { signal: ac.signal })
  for await (const _ of stream) {
    ac.abort()
    break
  }
  await eventually(() => vllm.cancelled() > cancelledBefore, undefined, 'the backend to see the cancel')
})

test('a stream the backend breaks after its first chunk ends with an error event, not a clean end', async () => {
  vllm.failNext({ kind: 'break', code: 13 })
  const stream = await openai.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }], stream: true })
  let text = ''
  await assert.rejects((async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? ''
  })(), /gRPC stream failed|stream/)
  assert.ok(text.length > 0 && text.length < REPLY.length, text)
})

test('health checks: ServerLive and ModelReady decide the endpoint\'s health', async () => {
  const health = async () => ((await (await fetch(`${gw.admin}/clusters`)).json()) as any).triton.endpoints[0].health?.status
  await eventually(async () => (await health()) === 'healthy', undefined, 'the endpoint to be healthy')
  vllm.live = false
  await eventually(async () => (await health()) === 'unhealthy', undefined, 'ServerLive false to mark it unhealthy')
  vllm.live = true
  await eventually(async () => (await health()) === 'healthy', undefined, 'recovery')
})
