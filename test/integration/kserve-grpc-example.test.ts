/**
 * examples/kserve-grpc.yaml runs as its comment says: the bundled mock server
 * (examples/kserve-mock-server.mjs) and the gateway on that config (ports moved to free ones),
 * called with the official `openai` client (streamed) and `@anthropic-ai/sdk`.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { repoRoot } from '../support/repo-root.js'

const REPLY = 'Hello from the KServe mock: this answer came over gRPC.'
let mock: ChildProcess
let gw: GatewayProcess
let base: string

before(async () => {
  const grpcPort = await freePort()
  mock = spawn(process.execPath, [join(repoRoot, 'examples', 'kserve-mock-server.mjs')], { env: { ...process.env, PORT: String(grpcPort) }, stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    mock.stdout!.once('data', () => resolve())
    mock.once('exit', (code) => reject(new Error(`mock exited ${code}`)))
  })
  const port = await freePort()
  const text = readFileSync(join(repoRoot, 'examples', 'kserve-grpc.yaml'), 'utf8')
  gw = await startGateway((admin) => text
    .replace('admin: { port: 9901 }', `admin: { port: ${admin} }`)
    .replace('port: 8080', `port: ${port}`)
    .replace('http://127.0.0.1:8001', `http://127.0.0.1:${grpcPort}`))
  base = `http://127.0.0.1:${port}`
})

after(async () => {
  const code = await gw?.stop()
  mock?.kill()
  assert.equal(code, 0, gw?.output())
})

test('the example streams a chat completion from the gRPC mock through the openai client', async () => {
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 })
  const stream = await openai.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
  let text = ''
  let usage: any
  for await (const c of stream) {
    text += c.choices[0]?.delta?.content ?? ''
    if (c.usage) usage = c.usage
  }
  assert.equal(text, REPLY)
  assert.equal(usage?.completion_tokens, 10)
})

test('the example answers an Anthropic Messages call', async () => {
  const anthropic = new Anthropic({ baseURL: base, apiKey: 'unused', maxRetries: 0 })
  const msg = await anthropic.messages.create({ model: 'llama-3.1-8b', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(msg.content[0].type === 'text' && msg.content[0].text, REPLY)
})
