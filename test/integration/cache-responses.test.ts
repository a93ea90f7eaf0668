/**
 * The Responses API through the cache, with the official `openai` client against a gateway
 * process (mock provider): a streamed answer is stored and replayed as a well-formed Responses
 * event stream (the SDK assembles the same final response from it), whole and streamed callers
 * answer each other, and a replay carries a new id with input tokens marked cached.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let gw: GatewayProcess
let port: number
const REPLY = 'A stored answer long enough to be replayed in several deltas, since each replayed delta holds at most sixty-four characters.'

before(async () => {
  port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main, filters: [answers] }
filters:
  - { name: answers, type: cache, config: { ttl: 10m, operations: [responses] } }
routes:
  - { name: main, rules: [{ name: respond, cluster: mock }] }
clusters:
  - { name: mock, provider: mock, mock: { reply: "${REPLY}", chunks: 6 } }
`)
})

after(async () => {
  await gw?.stop()
})

const client = () => new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 })
const question = (input: string) => ({ model: 'gpt-4o', temperature: 0, input })

async function streamed(input: string) {
  const { data, response } = await client().responses.create({ ...question(input), stream: true }).withResponse()
  const types: string[] = []
  const sequence: number[] = []
  let text = ''
  let final: OpenAI.Responses.Response | undefined
  for await (const ev of data) {
    types.push(ev.type)
    sequence.push(ev.sequence_number)
    if (ev.type === 'response.output_text.delta') text += ev.delta
    if (ev.type === 'response.completed') final = ev.response
  }
  return { cache: response.headers.get('x-switchyard-cache'), types, sequence, text, final: final! }
}

async function whole(input: string) {
  const { data, response } = await client().responses.create(question(input)).withResponse()
  return { cache: response.headers.get('x-switchyard-cache'), response: data }
}

/** The output text of a response object (the SDK's output_text helper is not set on every path). */
const textOf = (r: OpenAI.Responses.Response) => r.output.flatMap((i) => (i.type === 'message' ? i.content : [])).map((p) => (p.type === 'output_text' ? p.text : '')).join('')

const routeCounts = async () => ((await (await fetch(`${gw.admin}/cache`)).json()) as any).routes.respond

test('a streamed Responses answer is stored and replayed as a well-formed event stream', async () => {
  const miss = await streamed('stream then stream')
  const hit = await streamed('stream then stream')
  assert.deepStrictEqual([miss.cache, hit.cache], ['miss', 'hit'])
  assert.equal(hit.text, REPLY)
  assert.equal(textOf(hit.final), REPLY)
  assert.equal(hit.final.status, 'completed')
  assert.deepStrictEqual(hit.sequence, hit.types.map((_, i) => i), 'sequence numbers count from 0')
  assert.deepStrictEqual(hit.types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'])
  assert.deepStrictEqual(hit.types.slice(-5), ['response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed'])
  assert.ok(hit.types.filter((t) => t === 'response.output_text.delta').length >= 2)
  assert.notEqual(hit.final.id, miss.final.id, 'a replay has its own id')
  assert.equal(hit.final.usage?.input_tokens_details.cached_tokens, hit.final.usage?.input_tokens)
  assert.ok(hit.final.created_at >= miss.final.created_at)
})

test('a whole caller is answered from a streamed entry, and a streaming one from a whole entry', async () => {
  const filled = await streamed('stream fills, whole reads')
  const read = await whole('stream fills, whole reads')
  assert.deepStrictEqual([filled.cache, read.cache], ['miss', 'hit'])
  assert.equal(textOf(read.response), REPLY)
  const wholeFill = await whole('whole fills, stream reads')
  const streamRead = await streamed('whole fills, stream reads')
  assert.deepStrictEqual([wholeFill.cache, streamRead.cache], ['miss', 'hit'])
  assert.equal(streamRead.text, REPLY)
  assert.equal(textOf(streamRead.final), REPLY)
})

test('the miss and hit counts of the route add up', async () => {
  const before = await routeCounts()
  await streamed('counted once')
  await streamed('counted once')
  await whole('counted once')
  const now = await routeCounts()
  assert.deepStrictEqual([now.miss - before.miss, now.hit - before.hit, now.stored - before.stored], [1, 2, 1])
})
