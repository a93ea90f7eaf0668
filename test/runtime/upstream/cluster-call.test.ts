/**
 * Side calls to a cluster (upstream/cluster-call.ts) against a real local HTTP upstream: the
 * cluster's credentials and model_map apply, the answer comes back whole, an error status comes
 * back as such, and the side call's timeout aborts the upstream request.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { callCluster } from '../../../src/runtime/upstream/cluster-call.js'
import { builtSnapshot } from '../../support/built-snapshot.js'
import { receive, startHttpServer, type ReceivedRequest } from '../../support/http-server.js'
import { eventually } from '../../support/eventually.js'

async function upstream(t: import('node:test').TestContext, answer: (r: ReceivedRequest, res: import('node:http').ServerResponse) => void) {
  const seen: { request: ReceivedRequest; closedUnanswered: boolean }[] = []
  const server = await startHttpServer((req, res) => receive(req, (r) => {
    const rec = { request: r, closedUnanswered: false }
    seen.push(rec)
    res.on('close', () => (rec.closedUnanswered = !res.writableFinished))
    answer(r, res)
  }))
  t.after(() => server.close())
  return { server, seen }
}

const config = (url: string) => `
listeners: [{ name: l, port: 8080, route_table: main }]
routes: [{ name: main, rules: [{ name: r, cluster: embed }] }]
clusters:
  - name: embed
    provider: openai
    endpoints: [{ url: "${url}/v1", api_key: "sk-side-call" }]
    model_map: { small: text-embedding-3-small }
`

test('a side call goes through the cluster (credentials, model_map) and returns the answer', async (t) => {
  const up = await upstream(t, (_r, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"object":"list","data":[{"embedding":[1,0]}]}')
  })
  const snap = builtSnapshot(t, 'c.yaml', config(up.server.origin))
  const r = await callCluster(snap, snap.clusters.get('embed')!, { path: '/v1/embeddings', json: { model: 'small', input: 'hi' }, timeoutMs: 2000, requestId: 'req-1' })
  assert.ok(r.ok)
  assert.deepStrictEqual([r.status, JSON.parse(r.body.toString()).data[0].embedding], [200, [1, 0]])
  const sent = up.seen[0].request
  assert.deepStrictEqual([sent.url, sent.headers.authorization, sent.headers['x-request-id'], JSON.parse(sent.body.toString()).model], ['/v1/embeddings', 'Bearer sk-side-call', 'req-1', 'text-embedding-3-small'])
})

test('an upstream error status is returned as such', async (t) => {
  const up = await upstream(t, (_r, res) => {
    res.writeHead(429, { 'content-type': 'application/json' })
    res.end('{"error":{"message":"slow down","type":"rate_limit"}}')
  })
  const snap = builtSnapshot(t, 'c.yaml', config(up.server.origin))
  const r = await callCluster(snap, snap.clusters.get('embed')!, { path: '/v1/embeddings', json: { model: 'small', input: 'hi' }, timeoutMs: 2000, requestId: 'req-2' })
  assert.deepStrictEqual(r.ok && r.status, 429)
})

test('the timeout ends the side call and aborts the upstream request', async (t) => {
  const up = await upstream(t, () => {}) // never answers
  const snap = builtSnapshot(t, 'c.yaml', config(up.server.origin))
  const t0 = performance.now()
  const r = await callCluster(snap, snap.clusters.get('embed')!, { path: '/v1/embeddings', json: { model: 'small', input: 'hi' }, timeoutMs: 100, requestId: 'req-3' })
  const took = performance.now() - t0
  assert.deepStrictEqual(r, { ok: false, reason: 'timeout' })
  assert.ok(took >= 95 && took < 1000, `${took} ms`)
  // undici drops the socket of an aborted request: the upstream sees it go unanswered.
  await eventually(() => up.seen[0]?.closedUnanswered === true, undefined, 'the upstream to see its request closed unanswered').catch(() => {})
  assert.equal(up.seen[0]?.closedUnanswered, true, 'the upstream request was aborted')
  assert.equal(snap.clusters.get('embed')!.stats.inflight, 0, 'the cluster counts nothing in flight any more')
})
