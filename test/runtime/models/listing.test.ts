import { test } from 'node:test'
import assert from 'node:assert/strict'
import { builtSnapshot } from '../../support/built-snapshot.js'
import type { CompiledListener, Identity, RequestHead } from '../../../src/runtime/types.js'

const CONFIG = `
listeners:
  - { name: api, port: 18501, route_table: main }
tenants:
  - { name: free, labels: { tier: free }, models: ["gpt-4o-mini*", claude-haiku] }
  - { name: pro, labels: { tier: pro } }
  - { name: partner, labels: { tier: partner } }
keys:
  - { id: narrow, tenant: pro, hash: "sha256:${'ab'.repeat(32)}", models: [gpt-4o] }
routes:
  - name: main
    rules:
      - { name: claude, match: { model: { glob: "claude-*" } }, cluster: anthropic }
      - { name: partners, match: { tenant_labels: [{ name: tier, exact: partner }] }, cluster: private }
      - { name: rest, match: { model: { glob: "gpt-*" } }, cluster: openai }
clusters:
  - { name: openai, provider: mock, models: [gpt-4o, gpt-4o-mini, gpt-4o-mini-tts] }
  - { name: anthropic, provider: mock, models: [claude-haiku, claude-sonnet] }
  - { name: private, provider: mock, models: [partner-model] }
`

const ids = (r: { body: Buffer }) => (JSON.parse(r.body.toString()) as { data: { id: string }[] }).data.map((m) => m.id)
const head = (tenant: string, labels: Record<string, string>, keyId?: string): RequestHead =>
  ({ identity: { tenant, labels, via: keyId ? 'api_key' : 'trusted_header', keyId, claims: undefined } satisfies Identity } as unknown as RequestHead)

test('an identified caller is listed only the models its tenant\'s rules reach and its tenant and key allow', (t) => {
  const snap = builtSnapshot(t, 'listing.yaml', CONFIG)
  const l = snap.listeners.get(18501) as CompiledListener
  assert.deepStrictEqual(ids(l.modelsReply), ['claude-haiku', 'claude-sonnet', 'partner-model', 'gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini-tts'], 'anonymous: the whole list')
  const forCaller = (h: RequestHead) => l.modelsFor!(h, snap.identity)
  assert.deepStrictEqual(ids(forCaller(head('free', { tier: 'free' })).modelsReply), ['claude-haiku', 'gpt-4o-mini', 'gpt-4o-mini-tts'])
  assert.deepStrictEqual(ids(forCaller(head('pro', { tier: 'pro' })).modelsReply), ['claude-haiku', 'claude-sonnet', 'gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini-tts'], 'no partner rule, no restriction')
  assert.deepStrictEqual(ids(forCaller(head('pro', { tier: 'pro' }, 'narrow')).modelsReply), ['gpt-4o'], "the key's list narrows the tenant's")
  assert.deepStrictEqual(ids(forCaller(head('partner', { tier: 'partner' })).modelsReply), ['claude-haiku', 'claude-sonnet', 'partner-model', 'gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini-tts'])
  const free = forCaller(head('free', { tier: 'free' }))
  assert.ok(free.modelReplies.has('gpt-4o-mini') && !free.modelReplies.has('gpt-4o'), '/v1/models/<id> follows the same list')
  assert.equal(forCaller(head('free', { tier: 'free' })), free, 'built once per kind of caller')
})
