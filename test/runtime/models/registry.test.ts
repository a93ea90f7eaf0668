/**
 * The registry's lookups: the name a request is handled as (aliases, deprecation and its rewrite),
 * the throttled deprecation warning, and which capability a request body uses that a model lacks.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ModelIR } from '../../../src/compiler/ir.js'
import { compileModelRegistry, requestModel } from '../../../src/runtime/models/registry.js'
import { lackingCapability } from '../../../src/runtime/models/admission.js'
import { DEPRECATION_WARNING_INTERVAL_MS, resetDeprecationWarnings } from '../../../src/runtime/models/deprecation.js'
import { redirectLog } from '../../../src/shared/log.js'

const ALL = { tools: true, vision: true, jsonMode: true, reasoning: true, streaming: true }
const model = (m: Partial<ModelIR> & { name: string }): ModelIR => ({ aliases: [], providerIds: {}, capabilities: ALL, rewriteToReplacement: false, ...m })
const past = Date.now() - 86_400_000
const future = Date.now() + 86_400_000

const registry = compileModelRegistry([
  model({ name: 'gpt-4o', aliases: ['gpt4o', 'gpt-4o-latest'] }),
  model({ name: 'old', deprecatedAt: 'x', deprecatedAtMs: past, replacement: 'gpt-4o', rewriteToReplacement: true }),
  model({ name: 'older', deprecatedAt: 'x', deprecatedAtMs: past, replacement: 'old', rewriteToReplacement: true }),
  model({ name: 'kept', deprecatedAt: 'x', deprecatedAtMs: past, replacement: 'gpt-4o' }),
  model({ name: 'later', deprecatedAt: 'x', deprecatedAtMs: future, replacement: 'gpt-4o', rewriteToReplacement: true }),
])

function capturingLog(): { lines: string[]; stop: () => void } {
  const lines: string[] = []
  redirectLog((l) => lines.push(l))
  return { lines, stop: () => redirectLog(undefined) }
}

test('the name a request is handled as', () => {
  const log = capturingLog()
  try {
    const cases: [string | undefined, string | undefined][] = [
      ['gpt-4o', 'gpt-4o'],
      ['gpt4o', 'gpt-4o'],
      ['gpt-4o-latest', 'gpt-4o'],
      ['unregistered', 'unregistered'],
      [undefined, undefined],
      ['old', 'gpt-4o'],
      ['older', 'gpt-4o'],
      ['kept', 'kept'],
      ['later', 'later'],
    ]
    assert.deepStrictEqual(cases.map(([asked]) => [asked, requestModel(registry, asked)]), cases)
  } finally {
    log.stop()
  }
})

test('a deprecated model warns once per model per interval, not per request', (t) => {
  resetDeprecationWarnings()
  const log = capturingLog()
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  try {
    for (let i = 0; i < 50; i++) requestModel(registry, 'kept')
    requestModel(registry, 'old')
    assert.equal(log.lines.filter((l) => l.includes('deprecated model')).length, 2, log.lines.join('\n'))
    assert.match(log.lines[0], /model=kept/)
    assert.match(log.lines[0], /replacement=gpt-4o/)
    assert.match(log.lines[1], /served as its replacement/)
    assert.match(log.lines[1], /rewritten_to=gpt-4o/)
    t.mock.timers.tick(DEPRECATION_WARNING_INTERVAL_MS - 1)
    requestModel(registry, 'kept')
    assert.equal(log.lines.length, 2)
    t.mock.timers.tick(1)
    requestModel(registry, 'kept')
    assert.equal(log.lines.length, 3)
    requestModel(registry, 'later')
    assert.equal(log.lines.length, 3, 'a model whose deprecated_at is ahead does not warn')
  } finally {
    log.stop()
  }
})

test('which capability a request uses that the model lacks (first in a fixed order)', () => {
  const none = compileModelRegistry([model({ name: 'm', capabilities: { tools: false, vision: false, jsonMode: false, reasoning: false, streaming: false } })]).byName.get('m')!
  const img = { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ['plain chat', { messages: [{ role: 'user', content: 'hi' }] }, undefined],
    ['stream', { stream: true }, 'streaming:stream'],
    ['stream false', { stream: false }, undefined],
    ['tools', { tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools:tools'],
    ['empty tools', { tools: [] }, undefined],
    ['legacy functions', { functions: [{ name: 'f' }] }, 'tools:functions'],
    ['json_object', { response_format: { type: 'json_object' } }, 'json_mode:response_format'],
    ['json_schema', { response_format: { type: 'json_schema', json_schema: {} } }, 'json_mode:response_format'],
    ['text format', { response_format: { type: 'text' } }, undefined],
    ['responses text.format', { text: { format: { type: 'json_schema' } } }, 'json_mode:text.format'],
    ['reasoning_effort', { reasoning_effort: 'low' }, 'reasoning:reasoning_effort'],
    ['responses reasoning', { reasoning: { effort: 'high' } }, 'reasoning:reasoning'],
    ['anthropic thinking', { thinking: { type: 'enabled', budget_tokens: 1024 } }, 'reasoning:thinking'],
    ['thinking disabled', { thinking: { type: 'disabled' } }, undefined],
    ['openai image part', { messages: [{ role: 'user', content: [{ type: 'text', text: 'what?' }, img] }] }, 'vision:messages'],
    ['anthropic image', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }] }, 'vision:messages'],
    ['image in a tool result', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: {} }] }] }] }, 'vision:messages'],
    ['responses input_image', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, 'vision:input'],
    ['text parts only', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, undefined],
  ]
  const got = cases.map(([what, body]) => {
    const l = lackingCapability(none, body)
    return [what, l && `${l.capability}:${l.param}`]
  })
  assert.deepStrictEqual(got, cases.map(([what, , want]) => [what, want]))
  const all = compileModelRegistry([model({ name: 'm' })]).byName.get('m')!
  assert.equal(all.refusesSome, false)
  assert.equal(none.refusesSome, true)
})

test('the estimate never exceeds 2 tokens per byte without inline base64 (the admission fast path relies on it)', async () => {
  const { estimateInputTokens } = await import('../../../src/runtime/limits/token-estimate.js')
  const samples = [Buffer.alloc(64, 0xf0), Buffer.alloc(65, 0xff), Buffer.from('😀'.repeat(40)), Buffer.from('日本語'.repeat(30)), Buffer.from('plain ascii '.repeat(20))]
  for (let i = 0; i < 200; i++) samples.push(Buffer.from(Array.from({ length: 1 + (i % 97) }, (_, k) => (k * 131 + i * 17) & 0xff)))
  for (const b of samples) if (b.indexOf(';base64,') < 0) assert.ok(estimateInputTokens(b) <= b.length * 2, `${b.length} bytes: ${estimateInputTokens(b)} tokens`)
})
