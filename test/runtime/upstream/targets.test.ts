/**
 * Where a request goes upstream, per provider: the path the target resolver builds for each
 * operation, the refusals (a model that cannot be a path segment, an operation the provider lacks),
 * Azure's ownership of api-version, and the credential headers prebuilt per endpoint.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClusterIR, UpstreamProtocol } from '../../../src/compiler/ir.js'
import type { Operation } from '../../../src/runtime/providers/caller.js'
import { createTargetResolver, credentialHeaders, type TargetRefusal, type UpstreamTarget } from '../../../src/runtime/upstream/targets.js'
import type { CompiledEndpoint } from '../../../src/runtime/types.js'
import { clusterIR } from '../../support/cluster-ir.js'
import { endpoints } from '../../support/lb-endpoints.js'

const CLUSTERS = {
  openai: '{ name: c, provider: openai, endpoints: [{ url: "http://127.0.0.1:1/v1" }] }',
  azure: '{ name: c, provider: azure_openai, azure: { api_version: "2024-10-21", deployments: { gpt-4o: prod-4o } }, endpoints: [{ url: "https://res.openai.azure.com" }] }',
  anthropic: '{ name: c, provider: anthropic, endpoints: [{ url: "http://127.0.0.1:1/v1" }] }',
  gemini: '{ name: c, provider: gemini, endpoints: [{ url: "http://127.0.0.1:1/v1beta" }] }',
  bedrock: '{ name: c, provider: bedrock, bedrock: { region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: test-secret }, endpoints: [{ url: "http://127.0.0.1:1" }] }',
} as const

function resolver(kind: keyof typeof CLUSTERS): { resolve(op: Operation, rest: string, query: string, model: string, stream?: boolean): UpstreamTarget | TargetRefusal } {
  const ir = clusterIR(CLUSTERS[kind])
  assert.notEqual(ir.protocol, 'mock')
  const r = createTargetResolver(ir as ClusterIR & { protocol: UpstreamProtocol })
  // The endpoint's base path as the compiler resolved it from the URL.
  const endpoint: CompiledEndpoint = { ...endpoints('a')[0], basePath: ir.endpoints[0].basePath }
  return { resolve: (op, rest, query, model, stream = false) => r.resolve(endpoint, op, rest, query, model, stream) }
}

interface Case {
  readonly name: string
  readonly cluster: keyof typeof CLUSTERS
  readonly op: Operation
  readonly rest: string
  readonly query?: string
  readonly model: string
  readonly stream?: boolean
  readonly path?: string
  readonly refused?: TargetRefusal
}

const paths: Case[] = [
  { name: 'openai: chat completions go to the base path plus the caller\'s path', cluster: 'openai', op: 'chat', rest: '/chat/completions', model: 'gpt-4o', path: '/v1/chat/completions' },
  { name: 'openai: an Anthropic caller\'s messages go to chat completions', cluster: 'openai', op: 'messages', rest: '/messages', model: 'gpt-4o', path: '/v1/chat/completions' },
  { name: 'openai: the caller\'s query string is kept', cluster: 'openai', op: 'embeddings', rest: '/embeddings', query: 'x=1', model: 'e', path: '/v1/embeddings?x=1' },
  { name: 'openai: any other path passes through', cluster: 'openai', op: 'other', rest: '/models', model: '', path: '/v1/models' },
  { name: 'azure_openai: a mapped model goes to its deployment with the configured api-version', cluster: 'azure', op: 'chat', rest: '/chat/completions', model: 'gpt-4o', path: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21' },
  { name: 'azure_openai: an unmapped model is the deployment name', cluster: 'azure', op: 'chat', rest: '/chat/completions', model: 'my-deploy', path: '/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21' },
  { name: 'azure_openai: a model is one path segment, slashes encoded', cluster: 'azure', op: 'chat', rest: '/chat/completions', model: 'a/../b', path: '/openai/deployments/a%2F..%2Fb/chat/completions?api-version=2024-10-21' },
  { name: 'azure_openai: an Anthropic caller\'s messages go to chat completions', cluster: 'azure', op: 'messages', rest: '/messages', model: 'gpt-4o', path: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21' },
  { name: 'azure_openai: the client\'s own api-version is dropped, its other parameters kept', cluster: 'azure', op: 'chat', rest: '/chat/completions', query: 'api-version=1999-01-01&trace=1', model: 'gpt-4o', path: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21&trace=1' },
  { name: 'azure_openai: a query holding only api-version adds nothing', cluster: 'azure', op: 'chat', rest: '/chat/completions', query: 'api-version=1999-01-01', model: 'gpt-4o', path: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21' },
  { name: 'anthropic: messages go to the base path plus /messages', cluster: 'anthropic', op: 'messages', rest: '/messages', model: 'claude', path: '/v1/messages' },
  { name: 'anthropic: an OpenAI caller\'s chat completions go to /messages', cluster: 'anthropic', op: 'chat', rest: '/chat/completions', model: 'claude', path: '/v1/messages' },
  { name: 'anthropic: a Responses caller goes to /messages', cluster: 'anthropic', op: 'responses', rest: '/responses', model: 'claude', path: '/v1/messages' },
  { name: 'anthropic: count_tokens passes through', cluster: 'anthropic', op: 'count_tokens', rest: '/messages/count_tokens', model: 'claude', path: '/v1/messages/count_tokens' },
  { name: 'gemini: a whole answer is generateContent on the model', cluster: 'gemini', op: 'chat', rest: '/chat/completions', model: 'gemini-2.0-flash', path: '/v1beta/models/gemini-2.0-flash:generateContent' },
  { name: 'gemini: a stream is streamGenerateContent with alt=sse', cluster: 'gemini', op: 'chat', rest: '/chat/completions', model: 'gemini-2.0-flash', stream: true, path: '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse' },
  { name: 'gemini: a models/ prefix on the model is not doubled', cluster: 'gemini', op: 'messages', rest: '/messages', model: 'models/gemini-2.0-flash', path: '/v1beta/models/gemini-2.0-flash:generateContent' },
  { name: 'bedrock: a whole answer is Converse on the encoded model id', cluster: 'bedrock', op: 'chat', rest: '/chat/completions', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0', path: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse' },
  { name: 'bedrock: a stream is ConverseStream', cluster: 'bedrock', op: 'responses', rest: '/responses', model: 'amazon.nova-lite-v1:0', stream: true, path: '/model/amazon.nova-lite-v1%3A0/converse-stream' },
]

const refusals: Case[] = [
  { name: "azure_openai refuses the model '.'", cluster: 'azure', op: 'chat', rest: '/chat/completions', model: '.', refused: { refused: 'SY_BAD_REQUEST', message: "model must not be '.'" } },
  { name: "azure_openai refuses the model '..' (it would walk the upstream path)", cluster: 'azure', op: 'chat', rest: '/chat/completions', model: '..', refused: { refused: 'SY_BAD_REQUEST', message: "model must not be '..'" } },
  { name: 'azure_openai refuses a model with a lone surrogate', cluster: 'azure', op: 'chat', rest: '/chat/completions', model: 'gpt-\ud800', refused: { refused: 'SY_BAD_REQUEST', message: 'model is not well-formed Unicode (unpaired surrogate)' } },
  { name: 'azure_openai refuses a request without a model', cluster: 'azure', op: 'chat', rest: '/chat/completions', model: '', refused: { refused: 'SY_BAD_REQUEST', message: 'azure_openai needs a model' } },
  { name: "gemini refuses the model '..'", cluster: 'gemini', op: 'chat', rest: '/chat/completions', model: '..', refused: { refused: 'SY_BAD_REQUEST', message: "model must not be '..'" } },
  { name: "gemini refuses the model 'models/..' (the prefix is taken off first)", cluster: 'gemini', op: 'chat', rest: '/chat/completions', model: 'models/..', refused: { refused: 'SY_BAD_REQUEST', message: "model must not be '..'" } },
  { name: 'gemini refuses a request without a model', cluster: 'gemini', op: 'chat', rest: '/chat/completions', model: '', refused: { refused: 'SY_BAD_REQUEST', message: 'gemini needs a model' } },
  { name: 'bedrock refuses a model with a lone low surrogate', cluster: 'bedrock', op: 'chat', rest: '/chat/completions', model: '\udc00x', refused: { refused: 'SY_BAD_REQUEST', message: 'model is not well-formed Unicode (unpaired surrogate)' } },
  { name: "bedrock refuses the model '.'", cluster: 'bedrock', op: 'chat', rest: '/chat/completions', model: '.', refused: { refused: 'SY_BAD_REQUEST', message: "model must not be '.'" } },
  { name: 'anthropic has no embeddings API', cluster: 'anthropic', op: 'embeddings', rest: '/embeddings', model: 'claude', refused: { refused: 'SY_UNSUPPORTED', message: "provider 'anthropic' has no embeddings API" } },
  { name: 'gemini serves chat, messages and responses only', cluster: 'gemini', op: 'embeddings', rest: '/embeddings', model: 'text-embedding-004', refused: { refused: 'SY_UNSUPPORTED', message: "provider 'gemini' serves chat completions, messages and responses only through the gateway" } },
  { name: 'bedrock serves chat, messages and responses only', cluster: 'bedrock', op: 'other', rest: '/models', model: '', refused: { refused: 'SY_UNSUPPORTED', message: "provider 'bedrock' serves chat completions, messages and responses only through the gateway" } },
]

describe('target paths', () => {
  for (const c of paths) {
    test(c.name, () => {
      assert.deepStrictEqual(resolver(c.cluster).resolve(c.op, c.rest, c.query ?? '', c.model, c.stream), { path: c.path, headers: [] })
    })
  }
})

describe('target refusals', () => {
  for (const c of refusals) {
    test(c.name, () => {
      assert.deepStrictEqual(resolver(c.cluster).resolve(c.op, c.rest, c.query ?? '', c.model, c.stream), c.refused)
    })
  }
})

describe('credential headers', () => {
  const cases: { name: string; cluster: keyof typeof CLUSTERS; key?: string; basic?: string; headers: string[] }[] = [
    { name: 'openai sends the key as a bearer token', cluster: 'openai', key: 'k', headers: ['authorization', 'Bearer k'] },
    { name: 'openai without a key sends no credential', cluster: 'openai', headers: [] },
    { name: 'azure_openai sends the key as api-key', cluster: 'azure', key: 'k', headers: ['api-key', 'k'] },
    { name: 'anthropic sends anthropic-version and the key as x-api-key', cluster: 'anthropic', key: 'k', headers: ['anthropic-version', '2023-06-01', 'x-api-key', 'k'] },
    { name: 'anthropic without a key still sends anthropic-version', cluster: 'anthropic', headers: ['anthropic-version', '2023-06-01'] },
    { name: 'gemini sends the key as x-goog-api-key', cluster: 'gemini', key: 'k', headers: ['x-goog-api-key', 'k'] },
    { name: 'bedrock sends an API key as a bearer token', cluster: 'bedrock', key: 'k', headers: ['authorization', 'Bearer k'] },
    { name: "the URL's userinfo becomes basic authorization", cluster: 'openai', basic: 'Basic dTpw', headers: ['authorization', 'Basic dTpw'] },
  ]
  for (const c of cases) {
    test(c.name, () => {
      assert.deepStrictEqual(credentialHeaders(clusterIR(CLUSTERS[c.cluster]), c.key, c.basic), c.headers)
    })
  }
})
