/**
 * Every front door × every upstream protocol through the real gateway process: the official
 * `openai` and `@anthropic-ai/sdk` clients against local mocks that speak OpenAI, Anthropic,
 * Gemini and Bedrock (event-stream, SigV4) wire formats. Text, streaming, a tool-call round trip,
 * an image part, an error, usage.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { SignatureV4 } from '@smithy/signature-v4'
import { Hash } from '@smithy/core/serde'
import { startOpenAIMock } from '../support/mocks/openai-mock.js'
import { startAnthropicMock } from '../support/mocks/anthropic-mock.js'
import { startGeminiMock } from '../support/mocks/gemini-mock.js'
import { startBedrockMock } from '../support/mocks/bedrock-mock.js'
import type { ProviderMock } from '../support/mocks/mock-server.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const REPLY = 'Héllo wörld, from upstream ✓'
const STREAM_GAP_MS = 40
/**
 * The least span first → last content chunk that still shows a stream arrived incrementally. The
 * upstream spans 2 × 40 ms; a loaded box can delay the first chunk into the second (seen: 0, 7, 45 ms),
 * so the bound is one gap, not most of two — a buffered stream (all chunks in one read) still fails it.
 */
const STREAM_SPAN_MS = STREAM_GAP_MS
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=='
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

type Name = 'openai' | 'anthropic' | 'gemini' | 'bedrock'
const mocks = {} as Record<Name, ProviderMock>
const MODEL: Record<Name, string> = { openai: 'oa-gpt-4o', anthropic: 'claude-sonnet', gemini: 'gemini-2.0-flash', bedrock: 'bedrock-haiku' }
let gw: GatewayProcess
let base: string

before(async () => {
  // Chunks 40 ms apart: a stream passed through as it comes spans at least one such gap at the
  // client, a buffered one arrives at once (STREAM_SPAN_MS above).
  const opts = { reply: REPLY, chunks: 3, delayMs: STREAM_GAP_MS, apiKey: 'test-key', toolArguments: { city: 'Paris' } }
  mocks.openai = await startOpenAIMock(opts)
  mocks.anthropic = await startAnthropicMock(opts)
  mocks.gemini = await startGeminiMock(opts)
  mocks.bedrock = await startBedrockMock(opts)
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - { match: { model: { glob: "oa-*" } }, cluster: openai-up }
      - { match: { model: { glob: "claude-*" } }, cluster: anthropic-up }
      - { match: { model: { glob: "gemini-*" } }, cluster: gemini-up }
      - { match: { model: { glob: "bedrock-*" } }, cluster: bedrock-up }
clusters:
  - { name: openai-up, provider: openai, endpoints: [{ url: "${mocks.openai.url}/v1", api_key: "\${env:T_KEY}" }] }
  - { name: anthropic-up, provider: anthropic, endpoints: [{ url: "${mocks.anthropic.url}/v1", api_key: "\${env:T_KEY}" }], model_map: { claude-sonnet: claude-sonnet-4-5 } }
  - { name: gemini-up, provider: gemini, endpoints: [{ url: "${mocks.gemini.url}", api_key: "\${env:T_KEY}" }] }
  - name: bedrock-up
    provider: bedrock
    endpoints: [{ url: "${mocks.bedrock.url}" }]
    model_map: { bedrock-haiku: "anthropic.claude-3-haiku-20240307-v1:0" }
    bedrock: { region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: "\${env:T_AWS_SECRET}" }
`, { env: { T_KEY: 'test-key', T_AWS_SECRET: AWS_SECRET, SWITCHYARD_ACCESS_LOG: '1' } })
  base = `http://127.0.0.1:${port}`
})

after(async () => {
  const code = await gw?.stop()
  for (const m of Object.values(mocks)) await m.close()
  assert.equal(code, 0, gw?.output())
})

const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const lastBody = (p: Name) => mocks[p].requests.at(-1)!.json

const IMAGE_SHAPE: Record<Name, (body: any) => unknown> = {
  openai: (b) => b.messages.at(-1).content.find((p: any) => p.type === 'image_url')?.image_url.url,
  anthropic: (b) => b.messages.at(-1).content.find((p: any) => p.type === 'image')?.source.data,
  gemini: (b) => b.contents.at(-1).parts.find((p: any) => p.inlineData)?.inlineData.data,
  bedrock: (b) => b.messages.at(-1).content.find((p: any) => p.image)?.image.source.bytes,
}

for (const p of ['openai', 'anthropic', 'gemini', 'bedrock'] as const) {
  describe(`openai SDK → ${p} upstream`, () => {
    const client = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'caller-key', maxRetries: 0 })

    test('a plain completion returns the text and usage', async () => {
      const r = await client().chat.completions.create({ model: MODEL[p], messages: [{ role: 'user', content: 'hi' }] })
      assert.equal(r.choices[0].message.content, REPLY)
      assert.equal(r.choices[0].finish_reason, 'stop')
      assert.ok(r.usage!.prompt_tokens > 0 && r.usage!.completion_tokens > 0, JSON.stringify(r.usage))
    })

    test('a stream arrives incrementally and ends with usage when asked', async () => {
      const s = await client().chat.completions.create({ model: MODEL[p], stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      const arrivals: number[] = []
      let usage
      for await (const c of s) {
        if (c.choices[0]?.delta?.content) arrivals.push(performance.now())
        text += c.choices[0]?.delta?.content ?? ''
        if (c.usage) usage = c.usage
      }
      assert.equal(text, REPLY)
      assert.ok(arrivals.length >= 3 && arrivals.at(-1)! - arrivals[0] >= STREAM_SPAN_MS, `content chunks bunched: ${arrivals.map((t) => (t - arrivals[0]).toFixed(0))}`)
      assert.ok(usage && usage.completion_tokens > 0, 'usage chunk missing')
    })

    test('a tool call round trip works', async () => {
      const first = await client().chat.completions.create({ model: MODEL[p], messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [weather], tool_choice: 'required' })
      const call = first.choices[0].message.tool_calls![0]
      assert.equal(first.choices[0].finish_reason, 'tool_calls')
      assert.ok(call.type === 'function' && call.function.name === 'get_weather')
      assert.deepEqual(JSON.parse(call.type === 'function' ? call.function.arguments : '{}'), { city: 'Paris' })
      const second = await client().chat.completions.create({
        model: MODEL[p], tools: [weather],
        messages: [{ role: 'user', content: 'weather in Paris?' }, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' }],
      })
      assert.equal(second.choices[0].message.content, REPLY)
    })

    test('an image part reaches the upstream in its own shape', async () => {
      await client().chat.completions.create({ model: MODEL[p], messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }] })
      const got = IMAGE_SHAPE[p](lastBody(p))
      assert.ok(typeof got === 'string' && got.includes(PNG), `no image in upstream body: ${JSON.stringify(lastBody(p)).slice(0, 300)}`)
    })

    test('an upstream 429 comes back as an OpenAI rate-limit error with retry-after', async () => {
      mocks[p].failNext({ kind: 'rate_limit', retryAfterSeconds: 7 })
      await assert.rejects(client().chat.completions.create({ model: MODEL[p], messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
        assert.equal(e.status, 429)
        assert.equal(e.headers.get('retry-after'), '7')
        assert.ok(e.error?.message, 'error message missing')
        return true
      })
    })
  })

  describe(`Anthropic SDK → ${p} upstream`, () => {
    const client = () => new Anthropic({ baseURL: base, apiKey: 'caller-key', maxRetries: 0 })

    test('a plain message returns the text and usage', async () => {
      const m = await client().messages.create({ model: MODEL[p], max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      assert.deepEqual(m.content, [{ type: 'text', text: REPLY, ...(m.content[0] && 'citations' in m.content[0] ? { citations: m.content[0].citations } : {}) }])
      assert.equal(m.stop_reason, 'end_turn')
      assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0)
    })

    test('a stream arrives incrementally with usage', async () => {
      const arrivals: number[] = []
      const s = client().messages.stream({ model: MODEL[p], max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      s.on('text', () => arrivals.push(performance.now()))
      const m = await s.finalMessage()
      assert.equal((m.content[0] as { text: string }).text, REPLY)
      assert.ok(arrivals.length >= 3 && arrivals.at(-1)! - arrivals[0] >= STREAM_SPAN_MS, `text deltas bunched: ${arrivals.map((t) => (t - arrivals[0]).toFixed(0))}`)
      assert.ok(m.usage.output_tokens > 0)
    })

    test('a tool use round trip works', async () => {
      const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }]
      const first = await client().messages.create({ model: MODEL[p], max_tokens: 100, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'weather?' }] })
      assert.equal(first.stop_reason, 'tool_use')
      const use = first.content.find((b) => b.type === 'tool_use')!
      assert.ok(use.type === 'tool_use')
      assert.deepEqual(use.input, { city: 'Paris' })
      const second = await client().messages.create({
        model: MODEL[p], max_tokens: 100, tools,
        messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '21C' }] }],
      })
      assert.equal((second.content[0] as { text: string }).text, REPLY)
    })

    test('an image block reaches the upstream in its own shape', async () => {
      await client().messages.create({ model: MODEL[p], max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'what?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }] })
      const got = IMAGE_SHAPE[p](lastBody(p))
      assert.ok(typeof got === 'string' && got.includes(PNG), `no image in upstream body: ${JSON.stringify(lastBody(p)).slice(0, 300)}`)
    })

    test('an upstream context-length error comes back as an Anthropic invalid_request_error', async () => {
      mocks[p].failNext({ kind: 'context_length' })
      await assert.rejects(client().messages.create({ model: MODEL[p], max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
        assert.equal(e.status, 400)
        assert.equal(e.error?.error?.type, 'invalid_request_error')
        return true
      })
    })
  })
}

describe('gateway-side details', () => {
  test('an OpenAI stream that did not ask for usage gets none, but the gateway still accounts it', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0 })
    const s = await client.chat.completions.create({ model: 'oa-usage-check', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const chunks = []
    for await (const c of s) chunks.push(c)
    assert.ok(chunks.every((c) => !c.usage), 'the injected usage chunk leaked to the client')
    assert.equal(lastBody('openai').stream_options?.include_usage, true, 'the gateway did not ask for usage')
    const accessLine = () => gw.output().split('\n').find((l) => l.includes(' access ') && l.includes('cluster=openai-up') && l.includes('output_tokens='))
    // The access line is written when the stream completes, and reaches us through a pipe: poll.
    await eventually(() => accessLine() !== undefined, undefined, 'an access log line with usage').catch(() => {})
    assert.ok(accessLine(), 'no access log line with usage')
  })

  test('model_map sends the provider model id', async () => {
    const client = new Anthropic({ baseURL: base, apiKey: 'k', maxRetries: 0 })
    await client.messages.create({ model: 'claude-sonnet', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
    assert.equal(lastBody('anthropic').model, 'claude-sonnet-4-5')
    assert.match(mocks.bedrock.requests.at(-1)!.url, /^\/model\/anthropic\.claude-3-haiku-20240307-v1%3A0\//)
  })

  test('Bedrock requests carry a valid SigV4 signature', async () => {
    const req = mocks.bedrock.requests.at(-1)!
    const auth = String(req.headers.authorization)
    const signed = /SignedHeaders=([^,]+)/.exec(auth)![1].split(';')
    const headers: Record<string, string> = {}
    for (const h of signed) headers[h] = String(req.headers[h])
    const amzDate = String(req.headers['x-amz-date'])
    const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`)
    const signer = new SignatureV4({ service: 'bedrock', region: 'us-east-1', sha256: Hash.bind(null, 'sha256'), credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: AWS_SECRET } })
    const host = headers.host
    const expected = await signer.sign({ method: 'POST', protocol: 'http:', hostname: host.split(':')[0], port: Number(host.split(':')[1]), path: req.url, headers, body: req.body }, { signingDate: date })
    assert.equal(auth, expected.headers.authorization)
  })

  test('embeddings pass through to an OpenAI-format upstream with usage', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0 })
    const r = await client.embeddings.create({ model: 'oa-embed', input: ['alpha', 'beta'] })
    assert.equal(r.data.length, 2)
    assert.equal(r.data[0].embedding.length, 8)
    assert.ok(r.usage.prompt_tokens > 0)
  })

  test('embeddings for a provider without an embeddings API get a clear 404 in OpenAI format', async () => {
    const r = await fetch(`${base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-sonnet', input: 'x' }) })
    assert.equal(r.status, 404)
    assert.match((await r.json()).error.message, /no embeddings API/)
  })

  test('Anthropic count_tokens reaches an Anthropic upstream', async () => {
    const client = new Anthropic({ baseURL: base, apiKey: 'k', maxRetries: 0 })
    const r = await client.messages.countTokens({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'count these words please' }] })
    assert.ok(r.input_tokens > 0)
    const refused = await fetch(`${base}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gemini-2.0-flash', messages: [] }) })
    assert.equal(refused.status, 404)
    assert.equal((await refused.json()).type, 'error', 'errors on /v1/messages paths are Anthropic-shaped')
  })

  test('GET /v1/models lists the routed public model names', async () => {
    const r = await (await fetch(`${base}/v1/models`)).json()
    assert.equal(r.object, 'list')
    const ids = r.data.map((m: any) => m.id).sort()
    assert.deepEqual(ids, ['bedrock-haiku', 'claude-sonnet'])
    assert.equal(r.data.find((m: any) => m.id === 'bedrock-haiku').owned_by, 'bedrock-up')
  })

  test('no secret reaches the logs or the admin API', async () => {
    const cfg = await (await fetch(`${gw.admin}/config`)).text()
    for (const s of [AWS_SECRET]) {
      assert.doesNotMatch(cfg, new RegExp(s.replace(/[/+]/g, '\\$&')))
      assert.doesNotMatch(gw.output(), new RegExp(s.replace(/[/+]/g, '\\$&')))
    }
  })
})
