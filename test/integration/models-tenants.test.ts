/**
 * `GET /v1/models` per tenant: one gateway process with the `api_key` filter, two tenants (one
 * limited to some models, one routed to a cluster of its own by a tenant-label rule), called with
 * the official `openai` client's models.list() and models.retrieve() under each tenant's key.
 * Each is listed exactly what it may use; the other tenant's models are a 404 for it.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { createKeyRecord } from '../../src/shared/key-records.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { startGatewayHosts, stopGatewayHosts, type GatewayHost } from '../support/gateway-hosts.js'

const now = Date.now()
const free = createKeyRecord({ tenant: 'free', id: 'free-key' }, now)
const partner = createKeyRecord({ tenant: 'partner', id: 'partner-key' }, now)

let up: Upstream
let host: GatewayHost

before(async () => {
  up = await startOpenAIUpstream('up')
  ;[host] = await startGatewayHosts({
    hosts: 1,
    listenerFilters: ['keys'],
    config: `
filters:
  - { name: keys, type: api_key }
tenants:
  - { name: free, labels: { tier: free }, models: ["gpt-4o-mini*"] }
  - { name: partner, labels: { tier: partner } }
keys:
  - { id: ${free.record.id}, tenant: free, hash: "${free.record.hash}" }
  - { id: ${partner.record.id}, tenant: partner, hash: "${partner.record.hash}" }
routes:
  - name: main
    rules:
      - { name: partners, match: { model: { glob: "partner-*" }, tenant_labels: [{ name: tier, exact: partner }] }, cluster: private }
      - { name: chat, match: { model: { glob: "gpt-*" } }, cluster: public }
clusters:
  - { name: public, provider: openai, models: [gpt-4o, gpt-4o-mini], endpoints: [{ url: "${up.url}" }] }
  - { name: private, provider: openai, models: [partner-large], endpoints: [{ url: "${up.url}" }] }
`,
  })
})

after(async () => {
  await stopGatewayHosts([host])
  await up?.close()
})

const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${host.url}/v1`, maxRetries: 0 })
const listed = async (apiKey: string) => {
  const ids: string[] = []
  for await (const m of client(apiKey).models.list()) ids.push(m.id)
  return ids
}

test("each tenant's key lists only the models that tenant may use", async () => {
  assert.deepStrictEqual(await listed(free.key), ['gpt-4o-mini'])
  assert.deepStrictEqual(await listed(partner.key), ['partner-large', 'gpt-4o', 'gpt-4o-mini'])
})

test("a model the tenant may not use is not found for it, and is for the other tenant", async () => {
  await assert.rejects(client(free.key).models.retrieve('gpt-4o'), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found')
  await assert.rejects(client(free.key).models.retrieve('partner-large'), OpenAI.NotFoundError)
  assert.equal((await client(partner.key).models.retrieve('partner-large')).owned_by, 'private')
  assert.equal((await client(free.key).models.retrieve('gpt-4o-mini')).id, 'gpt-4o-mini')
})

test('what a tenant is listed is what it can call', async () => {
  const done = await client(free.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(done.choices[0].message.role, 'assistant')
  await assert.rejects(client(free.key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), OpenAI.PermissionDeniedError)
})
