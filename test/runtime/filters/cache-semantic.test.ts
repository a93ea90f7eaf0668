/**
 * `cache` filter's semantic tier in-process, on examples/cache-semantic.yaml (mock provider for
 * the chat and the embeddings): the README's flow, what an embeddings cluster that cannot embed
 * does (a miss, never a failure), and that a refresh still indexes its answer.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { dispatch } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'
import { repoRoot } from '../../support/repo-root.js'

const example = readFileSync(join(repoRoot, 'examples/cache-semantic.yaml'), 'utf8')

async function ask(snap: Snapshot, text: string, headers: Record<string, string> = {}, extra: object = {}) {
  const body = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: text }], ...extra }
  const down = new MemoryDownstream()
  dispatch(snap, snap.listeners.get(8080)!, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) }, down)
  await down.done
  return { status: down.status, cache: down.header('x-switchyard-cache'), similarity: down.header('x-switchyard-cache-similarity'), body: down.text() }
}

test("the example's flow: miss, semantic-hit for a reworded question, miss for another question", async (t) => {
  const snap = builtSnapshot(t, 'cache-semantic.yaml', example)
  const first = await ask(snap, 'What is the capital of France?')
  const reworded = await ask(snap, 'what is the capital city of France')
  const other = await ask(snap, 'What is the capital of Peru?')
  assert.deepStrictEqual([first.cache, reworded.cache, reworded.similarity, other.cache], ['miss', 'semantic-hit', '0.9258', 'miss'])
  assert.equal(JSON.parse(reworded.body).choices[0].message.content, 'Paris.')
})

test('an embeddings cluster that cannot embed makes a miss, and the request is answered', async (t) => {
  // The chat cluster stands in for an embeddings cluster whose provider refuses embeddings.
  const snap = builtSnapshot(t, 'cache-semantic.yaml', example.replace('cluster: embeddings', 'cluster: broken').replace('  - name: embeddings\n    provider: mock', '  - name: broken\n    provider: mock\n    mock: { fail: { percent: 100, status: 503 } }'))
  const a = await ask(snap, 'What is the capital of France?')
  const b = await ask(snap, 'what is the capital city of France')
  assert.deepStrictEqual([a.status, a.cache, b.status, b.cache], [200, 'miss', 200, 'miss'])
})

test('a refreshed answer is indexed too (embedded after the answer)', async (t) => {
  const snap = builtSnapshot(t, 'cache-semantic.yaml', example)
  const refreshed = await ask(snap, 'What is the capital of Spain?', { 'cache-control': 'no-cache' })
  await new Promise((r) => setTimeout(r, 20))
  const reworded = await ask(snap, 'what is the capital city of Spain')
  assert.deepStrictEqual([refreshed.cache, reworded.cache], ['refresh', 'semantic-hit'])
})

test('a streaming caller gets a semantic hit as an SSE stream ending in [DONE]', async (t) => {
  const snap = builtSnapshot(t, 'cache-semantic.yaml', example)
  await ask(snap, 'What is the capital of Italy?')
  const s = await ask(snap, 'what is the capital city of Italy', {}, { stream: true })
  assert.equal(s.cache, 'semantic-hit')
  assert.ok(s.body.trimEnd().endsWith('data: [DONE]'), s.body)
  assert.match(s.body, /"content":"Paris\."/)
})
