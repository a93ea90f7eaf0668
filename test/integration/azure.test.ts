/**
 * provider: azure_openai — deployment path, api-version, api-key header — with the openai SDK.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream } from '../support/openai-upstream.js'
import { startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

test('azure_openai maps the model to a deployment URL with api-version and the api-key header', async (t) => {
  const up = await startOpenAIUpstream('azure')
  t.after(() => up.close())
  const port = await freePort()
  const gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: az }] }]
clusters:
  - name: az
    provider: azure_openai
    endpoints: [{ url: "http://127.0.0.1:${up.port}", api_key: "\${env:AZ_KEY}" }]
    azure: { api_version: 2024-10-21, deployments: { gpt-4o: prod-gpt4o } }
`, { env: { AZ_KEY: 'azure-key' } })
  t.after(() => gw.stop())
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'caller', maxRetries: 0 })
  const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(r.choices[0].message.content, 'Hello from azure.')
  const seen = up.requests.at(-1)!
  assert.equal(seen.url, '/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21')
  assert.equal(seen.headers['api-key'], 'azure-key')
  assert.equal(seen.headers.authorization, undefined, 'the caller key must not reach Azure')
  const s = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  let text = ''
  for await (const c of s) text += c.choices[0]?.delta?.content ?? ''
  assert.equal(text, 'Hello from azure.')
})
