/**
 * Timeouts end to end: per_try_timeout fail-over and the route timeout's 504, Anthropic callers'
 * timeouts and mid-stream failures in their own protocol, and connect timeouts (cluster default,
 * route override, an unreachable endpoint).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import Anthropic from '@anthropic-ai/sdk'
import { eventually } from '../../support/gateway-process.js'
import { chat, chatCompletions, rig, show } from '../../support/fault-rig.js'

test('a slow non-streaming answer fails over past per_try_timeout; with no alternative the client gets 504 fast', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - name: retry
        match: { headers: [{ name: x-case, exact: retry }] }
        cluster: pair
        retry_policy: { retry_on: [timeout], num_retries: 1, per_try_timeout: 200ms, base_interval: 1ms, max_interval: 2ms }
      - name: fallback
        match: { headers: [{ name: x-case, exact: fallback }] }
        fallback: { clusters: [{ cluster: only-a }, { cluster: only-b }] }
        retry_policy: { retry_on: [timeout], num_retries: 0, per_try_timeout: 200ms }
      - name: alone
        match: { headers: [{ name: x-case, exact: alone }] }
        cluster: only-c
        timeout: 250ms
clusters:
  - { name: pair, provider: openai, endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }] }
  - { name: only-a, provider: openai, endpoints: [{ url: "${u.A.url}" }] }
  - { name: only-b, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
  - { name: only-c, provider: openai, endpoints: [{ url: "${u.C.url}" }] }
`)
  const { A, C } = up
  // Round robin tries A first on every request (the retry avoids A): four slow answers in a row,
  // two slow from the start, two that send their headers at once and stall the body.
  A.failNext('slow-json:1500', 'slow-body:1500', 'slow-json:1500', 'slow-body:1500')
  for (let i = 0; i < 4; i++) {
    const r = await chat(port, { headers: { 'x-case': 'retry' } })
    assert.equal(r.status, 200, `#${i}: ${show(r)}\n${gw.output()}`)
    assert.equal(r.who, 'B', `#${i}: ${show(r)}`)
    assert.equal(r.headers.get('x-switchyard-attempts'), '2', `#${i}: ${show(r)}`)
    assert.ok(r.ms >= 190 && r.ms < 900, `#${i} took ${r.ms.toFixed(0)} ms (per_try_timeout 200ms)`)
  }
  await eventually(() => chatCompletions(A).slice(-4).every((r) => r.aborted), undefined, 'the gateway to abandon the slow upstream requests')

  A.failNext('slow-json:1500')
  const fb = await chat(port, { headers: { 'x-case': 'fallback' } })
  assert.equal(fb.status, 200, show(fb))
  assert.equal(fb.who, 'B', show(fb))
  assert.equal(fb.headers.get('x-switchyard-cluster'), 'only-b')
  assert.ok(fb.ms >= 190 && fb.ms < 900, `fallback took ${fb.ms.toFixed(0)} ms`)

  // Nothing else to try: 504 in OpenAI error JSON at about the route timeout, for a slow head and
  // for a head that came at once with its body stalled (that 200 must not leak to the client).
  for (const kind of ['slow-json:2000', 'slow-body:2000']) {
    C.failNext(kind)
    const r = await chat(port, { headers: { 'x-case': 'alone' } })
    assert.equal(r.status, 504, `${kind}: ${show(r)}`)
    assert.equal(r.json?.error?.code, 'sy_upstream_timeout', `${kind}: ${show(r)}`)
    assert.equal(r.json?.error?.type, 'timeout_error', `${kind}: ${show(r)}`)
    assert.equal(typeof r.json?.error?.message, 'string', show(r))
    assert.ok(r.ms >= 240 && r.ms < 750, `${kind}: 504 took ${r.ms.toFixed(0)} ms (timeout 250ms)`)
  }
})

test('Anthropic callers get timeouts and mid-stream failures in their own protocol (official SDK)', async (t) => {
  const { port } = await rig(t, ['A'], (u) => `
routes:
  - name: main
    rules:
      - { match: { path: { exact: /v1/messages }, model: { exact: hang } }, cluster: a, timeout: 250ms }
      - { match: { path: { exact: /v1/messages } }, cluster: a }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${u.A.url}" }] }
`)
  const client = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'k', maxRetries: 0 })
  const t0 = performance.now()
  const timedOut = await client.messages.create({ model: 'hang', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  assert.ok(timedOut instanceof Anthropic.APIError, String(timedOut))
  assert.equal(timedOut.status, 504)
  assert.equal((timedOut.error as any)?.error?.type, 'timeout_error', JSON.stringify(timedOut.error))
  assert.ok(performance.now() - t0 < 1000, 'the 504 took longer than the 250 ms timeout allows')

  // The upstream stream is cut after two chunks: the SDK sees the text so far, then an error event.
  const stream = client.messages.stream({ model: 'cut-stream', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
  let text = ''
  stream.on('text', (d) => { text += d })
  const failed = await stream.finalMessage().catch((e) => e)
  assert.ok(failed instanceof Error, `the cut stream ended as a success: ${JSON.stringify(failed)}`)
  assert.equal(text, 'Hello ', 'the text before the cut reached the client')
  assert.match(String(failed.message ?? failed), /upstream|error/i)
})

/**
 * A TCP port whose accept queue is full: connects to it hang (the kernel drops the SYNs), which is
 * what an unreachable host looks like. The listener runs in a child process that stops accepting.
 */
async function startBlackhole(t: TestContext): Promise<number> {
  const child = spawn(process.execPath, ['-e', `const s = require('net').createServer()
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  // A pipe write is synchronous on Linux: "blocked" is out before the thread stops for good.
  process.stdout.write(s.address().port + ' blocked\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
})`], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => { child.kill('SIGKILL') })
  // Wait for the child's word that it stopped accepting, not a guess at how long that takes.
  let said = ''
  const port = await new Promise<number>((r) => child.stdout.on('data', (d) => { said += d; if (said.includes(' blocked\n')) r(Number(said.split(' ')[0])) }))
  const fillers = Array.from({ length: 4 }, () => connect(port, '127.0.0.1').on('error', () => {}))
  t.after(() => { for (const f of fillers) f.destroy() })
  // The fillers' handshakes are the kernel's (loopback, issued synchronously by connect()), not
  // this process's work: a short settle, independent of how busy user space is.
  await new Promise((r) => setTimeout(r, 150))
  return port
}

test('connect timeouts: the cluster default, a route override (own pools), and failing over past an unreachable endpoint', async (t) => {
  const hole = await startBlackhole(t)
  const { port } = await rig(t, ['B'], (u) => `
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-case, exact: cluster-default }] }, cluster: hole }
      - { match: { headers: [{ name: x-case, exact: route }] }, cluster: hole, connect_timeout: 150ms }
      - { match: { headers: [{ name: x-case, exact: chain }] }, fallback: { clusters: [{ cluster: hole }, { cluster: b }] }, connect_timeout: 150ms }
clusters:
  - { name: hole, provider: openai, connect_timeout: 600ms, endpoints: [{ url: "http://127.0.0.1:${hole}/v1" }] }
  - { name: b, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`)
  const viaCluster = await chat(port, { headers: { 'x-case': 'cluster-default' } })
  assert.equal(viaCluster.status, 504, show(viaCluster))
  assert.equal(viaCluster.json?.error?.code, 'sy_upstream_timeout', show(viaCluster))
  assert.ok(viaCluster.ms >= 550 && viaCluster.ms < 1200, `cluster connect_timeout 600ms, took ${viaCluster.ms.toFixed(0)} ms`)

  const viaRoute = await chat(port, { headers: { 'x-case': 'route' } })
  assert.equal(viaRoute.status, 504, show(viaRoute))
  // The override (150ms) against the cluster's 600ms: under 500 ms on a quiet box; a loaded box
  // delays both answers alike, so it also passes when clearly quicker than the cluster default.
  assert.ok(viaRoute.ms >= 120 && viaRoute.ms < Math.max(500, viaCluster.ms - 250), `route connect_timeout 150ms, took ${viaRoute.ms.toFixed(0)} ms (cluster default: ${viaCluster.ms.toFixed(0)} ms)`)

  const chain = await chat(port, { headers: { 'x-case': 'chain' } })
  assert.equal(chain.who, 'B', show(chain))
  assert.equal(chain.headers.get('x-switchyard-attempts'), '2', show(chain))
  // The route's 150ms connect timeout, then B: not the cluster's 600ms (same reasoning as above).
  assert.ok(chain.ms < Math.max(600, viaRoute.ms + 300), `failing over past the unreachable endpoint took ${chain.ms.toFixed(0)} ms (route timeout alone: ${viaRoute.ms.toFixed(0)} ms)`)
})
