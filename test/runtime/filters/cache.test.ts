/**
 * `cache` filter, in-process: the real snapshot (compiled config, mock provider) dispatched
 * socket-free, so each case sees exactly what the client would and counts the provider's answers.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { dispatch, type IncomingRequest } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

const config = (cache: string, mock = '{ reply: "Cached words.", chunks: 3 }') => `
listeners:
  - { name: public, port: 8080, route_table: main, filters: [answers] }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        cluster: mock
clusters:
  - { name: mock, provider: mock, mock: ${mock} }
filters:
  - name: answers
    type: cache
    config: ${cache}
`

function send(snap: Snapshot, body: object, headers: Record<string, string> = {}) {
  const incoming: IncomingRequest = { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) }
  const down = new MemoryDownstream()
  const ctx = dispatch(snap, snap.listeners.get(8080)!, incoming, down)
  return { ctx, down }
}

const header = (down: MemoryDownstream, name: string) => down.headers.find(([k]) => k === name)?.[1]
const ask = (extra: object = {}) => ({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'hello' }], ...extra })

async function answer(snap: Snapshot, body: object, headers: Record<string, string> = {}) {
  const { down } = send(snap, body, headers)
  await down.done
  return { cache: header(down, 'x-switchyard-cache'), age: header(down, 'age'), text: down.text(), status: down.status }
}

test('a repeated deterministic request is answered from the cache', async (t: TestContext) => {
  const snap = builtSnapshot(t, 'cache.yaml', config('{}'))
  const first = await answer(snap, ask())
  const second = await answer(snap, ask())
  assert.deepStrictEqual([first.cache, second.cache, second.age], ['miss', 'hit', '0'])
  assert.equal(JSON.parse(second.text).choices[0].message.content, 'Cached words.')
})
