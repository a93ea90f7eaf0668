/**
 * Fault scenarios end to end: a real gateway process, real local upstreams that misbehave on
 * command (overload 529, slow answers, malformed SSE, flapping, killed servers, latency outliers,
 * 429 bursts), the endpoint circuit breaker's transitions as the process shows them, the `fault`
 * filter, and a hot reload that changes a cluster. Each test runs its own gateway (1 worker) so
 * breaker/outlier state never leaks between tests.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import Anthropic from '@anthropic-ai/sdk'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

interface Rig {
  gw: GatewayProcess
  port: number
  up: Record<string, Upstream>
  /** /clusters, as JSON. */
  clusters(): Promise<any>
  /** The one worker's view of an endpoint in /clusters. */
  endpoint(cluster: string, url: string): Promise<any>
}

/**
 * Starts the named upstreams, then a 1-worker gateway whose config is `yaml(upstreams)` after the
 * admin and listener lines; stops everything at the end of the test (and insists on exit code 0).
 */
async function rig(t: TestContext, names: string[], yaml: (u: Record<string, Upstream>) => string, listenerExtra = ''): Promise<Rig> {
  const ups = await Promise.all(names.map((n) => startOpenAIUpstream(n)))
  const up = Object.fromEntries(names.map((n, i) => [n, ups[i]]))
  const port = await freePort()
  let gw: GatewayProcess
  try {
    gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main${listenerExtra} }]
${yaml(up)}`, { workers: 1 })
  } catch (e) {
    for (const u of ups) await u.close()
    throw e
  }
  t.after(async () => {
    const code = await gw.stop()
    for (const u of ups) await u.close()
    assert.equal(code, 0, gw.output())
  })
  const clusters = async () => (await fetch(`${gw.admin}/clusters`)).json() as Promise<any>
  const endpoint = async (cluster: string, url: string) => {
    const all = await clusters()
    const e = all[cluster]?.endpoints.find((x: any) => x.url === url)
    assert.ok(e, `no endpoint ${url} in cluster ${cluster} of /clusters: ${JSON.stringify(all)}`)
    const workers = Object.values(e.workers) as any[]
    assert.equal(workers.length, 1, JSON.stringify(e))
    return { ...workers[0], shared: e }
  }
  return { gw, port, up, clusters, endpoint }
}

interface Answer {
  status: number
  headers: Headers
  text: string
  /** Parsed body for JSON answers. */
  json: any
  /** For streams: the data payloads in order. */
  events: string[]
  /** The assistant text (message content, or the stream's deltas joined). */
  content: string
  /** Which upstream wrote the answer ("A" for "Hello from A."), or undefined. */
  who: string | undefined
  ms: number
}

async function chat(port: number, opts: { headers?: Record<string, string>; stream?: boolean; model?: string } = {}): Promise<Answer> {
  const t0 = performance.now()
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify({ model: opts.model ?? 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...(opts.stream && { stream: true }) }),
  })
  const text = await r.text()
  const ms = performance.now() - t0
  let json: any
  let events: string[] = []
  let content = ''
  if ((r.headers.get('content-type') ?? '').includes('text/event-stream')) {
    events = sseData(text)
    for (const d of events) {
      try {
        content += JSON.parse(d).choices?.[0]?.delta?.content ?? ''
      } catch {}
    }
  } else {
    try {
      json = JSON.parse(text)
      content = json?.choices?.[0]?.message?.content ?? ''
    } catch {}
  }
  return { status: r.status, headers: r.headers, text, json, events, content, who: /^Hello from (\w+)\.$/.exec(content)?.[1], ms }
}

/** The `data:` payload of every SSE event, in order. */
function sseData(text: string): string[] {
  return text.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '').map((e) =>
    e.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
}

/** A short description of an answer, for assertion messages. */
const show = (a: Answer) => `${a.status} in ${a.ms.toFixed(0)} ms: ${a.text.slice(0, 400)}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const chatCompletions = (u: Upstream) => u.requests.filter((r) => r.url.includes('/chat/completions'))

test('529 overload: retried on the peer or failed over; the client never sees it', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - name: retry-5xx
        match: { headers: [{ name: x-case, exact: retry-5xx }] }
        cluster: pair
        retry_policy: { retry_on: [5xx], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
      - name: retry-529
        match: { headers: [{ name: x-case, exact: retry-529 }] }
        cluster: pair
        retry_policy: { retry_on: [529], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
      - name: fallback
        match: { headers: [{ name: x-case, exact: fallback }] }
        fallback: { clusters: [{ cluster: only-c }, { cluster: only-b }] }
clusters:
  - { name: pair, provider: openai, endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }] }
  - { name: only-b, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
  - { name: only-c, provider: openai, endpoints: [{ url: "${u.C.url}" }] }
`)
  const { A, C } = up
  // `5xx` covers 529 (schema: 5xx = 500–599), and so does the explicit code. The retry avoids A,
  // so round robin may send every first attempt to A: queue a 529 for each.
  for (const xcase of ['retry-5xx', 'retry-529']) {
    A.failNext(...Array(8).fill('529'))
    const before = chatCompletions(A).length
    for (let i = 0; i < 8; i++) {
      const r = await chat(port, { headers: { 'x-case': xcase }, stream: i % 2 === 1 })
      assert.equal(r.status, 200, `${xcase} #${i}: ${show(r)}\n${gw.output()}`)
      assert.equal(r.who, 'B', `${xcase} #${i} answered by ${r.who}: ${show(r)}`)
      if (r.events.length) assert.equal(r.events.at(-1), '[DONE]', show(r))
    }
    // Round robin sends every other first attempt to A: it really answered 529s.
    assert.ok(chatCompletions(A).length - before >= 4, `${xcase}: A saw ${chatCompletions(A).length - before} requests`)
  }
  // A fallback chain moves on after a 529 (fallback.on defaults include 5xx).
  C.failNext('529', '529')
  for (const stream of [false, true]) {
    const r = await chat(port, { headers: { 'x-case': 'fallback' }, stream })
    assert.equal(r.status, 200, show(r))
    assert.equal(r.who, 'B', show(r))
    assert.equal(r.headers.get('x-switchyard-cluster'), 'only-b')
    assert.equal(r.headers.get('x-switchyard-attempts'), '2')
  }
  assert.equal(chatCompletions(C).length, 2)
})

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
  await eventually(() => chatCompletions(A).slice(-4).every((r) => r.aborted), 1000, 'the gateway to abandon the slow upstream requests')

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

/** A two-cluster fallback chain: A, then B. */
const aThenB = (u: Record<string, Upstream>) => `
routes:
  - name: main
    rules:
      - fallback: { clusters: [{ cluster: only-a }, { cluster: only-b }] }
clusters:
  - { name: only-a, provider: openai, endpoints: [{ url: "${u.A.url}" }] }
  - { name: only-b, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`

test('a malformed SSE event before anything reached the client is retried invisibly', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B'], aThenB)
  up.A.failNext('malformed-first')
  const r = await chat(port, { stream: true })
  assert.equal(r.status, 200, show(r))
  assert.ok(!r.text.includes('not json'), `the malformed event reached the client: ${show(r)}\n${gw.output()}`)
  assert.equal(r.content, 'Hello from B.', show(r))
  assert.equal(r.events.at(-1), '[DONE]', show(r))
  assert.equal(r.headers.get('x-switchyard-cluster'), 'only-b', show(r))
})

test('a malformed SSE event after the client got chunks ends the stream with an error event, never a clean success', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B'], aThenB)
  up.A.failNext('malformed-event')
  const r = await chat(port, { stream: true })
  assert.equal(r.status, 200, show(r))
  assert.ok(r.content.startsWith('partial '), show(r))
  assert.ok(!r.events.includes('[DONE]'), `the stream ended as a success: ${show(r)}\n${gw.output()}`)
  const last = JSON.parse(r.events.at(-1) ?? 'null')
  assert.equal(typeof last?.error?.message, 'string', `the last event is not an error event: ${show(r)}`)
})

test('a flapping endpoint with a healthy peer and retries: 0 client failures over 60 requests', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B'], (u) => `
routes:
  - name: main
    rules:
      - cluster: flap
        retry_policy: { retry_on: [5xx, reset, connect_failure], num_retries: 2, base_interval: 1ms, max_interval: 5ms }
clusters:
  - { name: flap, provider: openai, endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }] }
`)
  const { A } = up
  const pattern = ['503', 'ok', 'reset', 'ok', '500', 'ok', '529', 'ok']
  A.failNext(...Array.from({ length: 80 }, (_, i) => pattern[i % pattern.length]))
  const failures: string[] = []
  let retried = 0
  for (let batch = 0; batch < 20; batch++) {
    const answers = await Promise.all([0, 1, 2].map((k) => chat(port, { stream: (batch + k) % 2 === 0 })))
    for (const r of answers) {
      const clean = r.status === 200 && (r.who === 'A' || r.who === 'B') && (r.events.length === 0 || r.events.at(-1) === '[DONE]')
      if (!clean) failures.push(show(r))
      if (r.headers.get('x-switchyard-attempts') !== '1') retried++
    }
  }
  assert.deepEqual(failures, [], `client failures:\n${failures.join('\n')}\n${gw.output()}`)
  const seenByA = chatCompletions(A).length
  assert.ok(seenByA >= 20, `A only saw ${seenByA} requests`)
  assert.ok(retried >= 8, `only ${retried} answers needed a retry: A did not flap`)
})

test('a killed endpoint in a 2-endpoint cluster with retries: 0 client failures', async (t) => {
  const { port, up, gw } = await rig(t, ['A', 'B'], (u) => `
routes:
  - name: main
    rules:
      - cluster: pair
        retry_policy: { retry_on: [connect_failure, reset], num_retries: 1, base_interval: 1ms, max_interval: 5ms }
clusters:
  - { name: pair, provider: openai, connect_timeout: 500ms, endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }] }
`)
  const { A } = up
  const warm = new Set<string | undefined>()
  for (let i = 0; i < 4; i++) warm.add((await chat(port)).who)
  assert.deepEqual([...warm].sort(), ['A', 'B'], 'both endpoints serve before the kill')
  // Requests in flight on A when it dies (its keep-alive connections are destroyed) ...
  A.failNext('slow-json:1000', 'slow-json:1000')
  const seen = chatCompletions(A).length
  const inFlight = Promise.all([0, 1, 2, 3].map((i) => chat(port, { stream: i % 2 === 1 })))
  await eventually(() => chatCompletions(A).length >= seen + 2, 1000, 'two requests in flight on A')
  await A.close()
  const failures: string[] = []
  for (const r of await inFlight) if (r.status !== 200 || r.who !== 'B') failures.push(show(r))
  // ... and then a port with nothing listening.
  for (let batch = 0; batch < 10; batch++) {
    for (const r of await Promise.all([0, 1, 2].map((k) => chat(port, { stream: k === 1 })))) {
      if (r.status !== 200 || r.who !== 'B') failures.push(show(r))
    }
  }
  assert.deepEqual(failures, [], `client failures:\n${failures.join('\n')}\n${gw.output()}`)
})

test('endpoint circuit breaker: opens on consecutive failures, admits a half-open probe after open_duration, re-opens on a failed probe, closes on success', async (t) => {
  const OPEN_MS = 400
  const { port, up, gw, endpoint } = await rig(t, ['A', 'B'], (u) => `
routes:
  - name: main
    rules:
      - cluster: brk
        retry_policy: { retry_on: [5xx], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
clusters:
  - name: brk
    provider: openai
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }]
    endpoint_circuit_breaker: { consecutive_failures: 3, failure_ratio: 0, open_duration: ${OPEN_MS}ms, max_open_duration: 1m }
`)
  const { A } = up
  // Three failures open the breaker; the fourth is for the first half-open probe.
  A.failNext('503', '503', '503', '503')
  let openedAt = 0
  for (let i = 0; i < 10 && chatCompletions(A).length < 3; i++) {
    const r = await chat(port)
    assert.equal(r.status, 200, `#${i}: ${show(r)}\n${gw.output()}`)
    openedAt = performance.now()
  }
  assert.equal(chatCompletions(A).length, 3, 'A did not get its three failures')
  const open = await endpoint('brk', A.url)
  assert.equal(open.eligible, false, JSON.stringify(open))
  assert.deepEqual(open.reasons, ['breaker_open'], JSON.stringify(open))
  assert.equal(open.breaker.state, 'open', JSON.stringify(open))
  assert.equal(open.breaker.openings, 1, JSON.stringify(open))

  /** Sends a request every ~20 ms until A gets one (a probe); returns when, relative to `from`. */
  const untilProbe = async (from: number, limitMs: number) => {
    const seen = chatCompletions(A).length
    while (performance.now() - from < limitMs) {
      const sentAt = performance.now()
      const r = await chat(port)
      assert.equal(r.status, 200, `while waiting for a probe: ${show(r)}\n${gw.output()}`)
      if (chatCompletions(A).length > seen) return { after: sentAt - from, r }
      assert.equal(r.who, 'B', `A got traffic while its breaker was open: ${show(r)}`)
      await sleep(20)
    }
    assert.fail(`no half-open probe reached A within ${limitMs} ms\n${gw.output()}`)
  }
  // First probe after ~open_duration; it fails (a 503, retried on B), re-opening for twice as long.
  const p1 = await untilProbe(openedAt, 3 * OPEN_MS)
  assert.equal(p1.r.who, 'B', 'the failed probe was retried on the peer')
  assert.ok(p1.after >= OPEN_MS - 60 && p1.after <= OPEN_MS + 300, `first probe ${p1.after.toFixed(0)} ms after opening (open_duration ${OPEN_MS} ms)`)
  const reopenedAt = performance.now()
  const again = await endpoint('brk', A.url)
  assert.equal(again.breaker.state, 'open', JSON.stringify(again))
  assert.equal(again.breaker.openings, 2, JSON.stringify(again))
  // Second probe after ~2 × open_duration; it succeeds and closes the breaker.
  const p2 = await untilProbe(reopenedAt, 6 * OPEN_MS)
  assert.equal(p2.r.who, 'A', 'the successful probe answered the client')
  assert.ok(p2.after >= 2 * OPEN_MS - 60 && p2.after <= 2 * OPEN_MS + 300, `second probe ${p2.after.toFixed(0)} ms after re-opening (2 × ${OPEN_MS} ms)`)
  console.log(`# breaker: first probe after ${p1.after.toFixed(0)} ms (open ${OPEN_MS}), second after ${p2.after.toFixed(0)} ms (open ${2 * OPEN_MS})`)
  const closed = await endpoint('brk', A.url)
  assert.equal(closed.breaker.state, 'closed', JSON.stringify(closed))
  assert.equal(closed.eligible, true, JSON.stringify(closed))
  const back = new Set<string | undefined>()
  for (let i = 0; i < 6; i++) back.add((await chat(port)).who)
  assert.deepEqual([...back].sort(), ['A', 'B'], 'both endpoints serve again')
  // Every transition is logged, with the endpoint and the reason.
  const transitions = ['from=closed to=open reason=consecutive_failures', 'from=open to=half_open reason=open_elapsed', 'from=half_open to=open reason=probe_failed', 'from=half_open to=closed reason=probes_succeeded']
  await eventually(() => transitions.every((s) => gw.output().includes(s)), 2000, 'the breaker transitions in the log').catch(() => {})
  const lines = gw.output().split('\n').filter((l) => l.includes('circuit breaker'))
  for (const s of transitions) assert.ok(lines.some((l) => l.includes(s) && l.includes(`:${A.port}`)), `no log line with "${s}" for A:\n${lines.join('\n')}`)
})

test('latency outlier: a slow endpoint is ejected and traffic goes to the fast ones; /clusters and the log say why', async (t) => {
  const { port, up, gw, endpoint } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - cluster: lat
clusters:
  - name: lat
    provider: openai
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }, { url: "${u.C.url}" }]
    outlier_detection: { latency_factor: 3, latency_min_samples: 5, latency_min_endpoints: 3, latency_alpha: 0.5, base_ejection_time: 30s }
`)
  const { A } = up
  A.failNext(...Array(40).fill('slow-json:150'))
  let ejected: any
  for (let i = 0; i < 40 && !ejected; i++) {
    const r = await chat(port)
    assert.equal(r.status, 200, `#${i}: ${show(r)}`)
    const st = await endpoint('lat', A.url)
    if (st.reasons.includes('ejected')) ejected = st
  }
  assert.ok(ejected, `A (150 ms to first byte vs ~1 ms) was never ejected\n${gw.output()}`)
  assert.equal(ejected.eligible, false)
  assert.deepEqual(ejected.reasons, ['ejected'], JSON.stringify(ejected))
  assert.equal(ejected.outlier.state, 'ejected', JSON.stringify(ejected))
  assert.equal(ejected.outlier.ejections, 1, JSON.stringify(ejected))
  // A slow endpoint is not a failing one: no 5xx or gateway errors were counted against it.
  assert.equal(ejected.outlier.consecutive5xx, 0, JSON.stringify(ejected))
  assert.equal(ejected.outlier.ejectedFor, 'latency', JSON.stringify(ejected))
  assert.ok(ejected.outlier.ejectedLatencyMs >= 100, `the latency that got A ejected: ${JSON.stringify(ejected)}`)
  const seenByA = chatCompletions(A).length
  const after = new Set<string | undefined>()
  for (let i = 0; i < 10; i++) {
    const r = await chat(port)
    after.add(r.who)
  }
  assert.deepEqual([...after].sort(), ['B', 'C'])
  assert.equal(chatCompletions(A).length, seenByA, 'the ejected endpoint still got traffic')
  // The log names the reason too.
  await eventually(() => /endpoint ejected .*reason=latency/.test(gw.output()), 2000, 'the ejection log line').catch(() => {})
  const line = gw.output().split('\n').find((l) => l.includes('endpoint ejected'))
  assert.ok(line?.includes('reason=latency') && line.includes(`:${A.port}`), `ejection log line: ${line}\n${gw.output()}`)
})

test('a burst of 429s cools an endpoint down and never ejects it (nor opens its breaker); it is eligible again after the cooldown', async (t) => {
  const COOLDOWN_MS = 800
  const { port, up, gw, endpoint } = await rig(t, ['A', 'B'], (u) => `
routes:
  - name: main
    rules:
      - cluster: rl
        retry_policy: { retry_on: [429], num_retries: 1, base_interval: 1ms, max_interval: 2ms }
clusters:
  - name: rl
    provider: openai
    lb: weighted
    # B (weight 0) only takes traffic A cannot: every first attempt goes to A while A is eligible.
    endpoints: [{ url: "${u.A.url}", weight: 1 }, { url: "${u.B.url}", weight: 0 }]
    circuit_breakers: { max_retries: 50 }
    outlier_detection: { consecutive_5xx: 3, consecutive_gateway_errors: 3, base_ejection_time: 30s, rate_limit_cooldown: ${COOLDOWN_MS}ms }
    endpoint_circuit_breaker: { consecutive_failures: 3, open_duration: 30s }
`)
  const { A } = up
  // Ten concurrent requests are all on A before the first 429 comes back (each waits 300 ms).
  A.failNext(...Array(10).fill('wait:300:429'))
  const burst = await Promise.all(Array.from({ length: 10 }, () => chat(port)))
  const burstEnd = performance.now()
  assert.equal(chatCompletions(A).length, 10, `A got ${chatCompletions(A).length} of the 10 burst requests (the rest went to B before any 429)`)
  for (const r of burst) {
    assert.equal(r.status, 200, `${show(r)}\n${gw.output()}`)
    assert.equal(r.who, 'B', show(r))
    assert.equal(r.headers.get('x-switchyard-attempts'), '2', show(r))
  }
  const cooling = await endpoint('rl', A.url)
  assert.equal(cooling.eligible, false, JSON.stringify(cooling))
  assert.deepEqual(cooling.reasons, ['cooldown'], JSON.stringify(cooling))
  assert.equal(cooling.outlier.state, 'cooldown', JSON.stringify(cooling))
  assert.equal(cooling.outlier.ejections, 0, JSON.stringify(cooling))
  assert.equal(cooling.outlier.consecutive5xx, 0, JSON.stringify(cooling))
  assert.equal(cooling.breaker.state, 'closed', JSON.stringify(cooling))
  assert.equal(cooling.breaker.consecutiveFailures, 0, JSON.stringify(cooling))
  // While it cools down, B serves.
  for (let i = 0; i < 3; i++) assert.equal((await chat(port)).who, 'B')
  await eventually(async () => (await endpoint('rl', A.url)).eligible, 3 * COOLDOWN_MS, 'the cooldown to end')
  const cooledFor = performance.now() - burstEnd
  assert.ok(cooledFor >= COOLDOWN_MS - 150 && cooledFor <= COOLDOWN_MS + 600, `eligible again ${cooledFor.toFixed(0)} ms after the burst (rate_limit_cooldown ${COOLDOWN_MS} ms)`)
  for (let i = 0; i < 3; i++) {
    const r = await chat(port)
    assert.equal(r.who, 'A', show(r))
    assert.equal(r.headers.get('x-switchyard-attempts'), '1', show(r))
  }
  assert.ok(!gw.output().includes('endpoint ejected'), gw.output())
  assert.ok(!gw.output().includes('circuit breaker'), gw.output())
})

test('fault filter: header-gated abort in OpenAI error JSON, a measured delay, and a 50 % abort rate', async (t) => {
  const { port, up, gw } = await rig(t, ['A'], (u) => `
filters:
  - { name: abort-on-header, type: fault, config: { only_with_header: x-chaos-abort, abort: { percent: 100, status: 503, message: chaos says no } } }
  - { name: delay-on-header, type: fault, config: { only_with_header: x-chaos-delay, delay: { percent: 100, duration: 300ms } } }
  - { name: both-on-header, type: fault, config: { only_with_header: x-chaos-both, delay: { duration: 150ms }, abort: { status: 429 } } }
  - { name: half, type: fault, config: { only_with_header: x-chaos-half, abort: { percent: 50, status: 500 } } }
routes:
  - name: main
    rules:
      - { cluster: a, timeout: 200ms }
clusters:
  - { name: a, provider: openai, endpoints: [{ url: "${u.A.url}" }] }
`, ', filters: [abort-on-header, delay-on-header, both-on-header, half]')
  const { A } = up
  const plain = await chat(port)
  assert.equal(plain.status, 200, `without the header nothing is injected: ${show(plain)}\n${gw.output()}`)
  assert.equal(plain.who, 'A')
  for (const stream of [false, true]) {
    const before = chatCompletions(A).length
    const r = await chat(port, { headers: { 'x-chaos-abort': '1' }, stream })
    assert.equal(r.status, 503, show(r))
    assert.match(r.headers.get('content-type') ?? '', /application\/json/)
    assert.deepEqual(r.json, { error: { message: 'chaos says no', type: 'server_error', param: null, code: 'fault_injected' } }, show(r))
    assert.equal(chatCompletions(A).length, before, 'an aborted request went upstream')
  }
  // The delay comes on top of the route timeout (200ms), which only starts upstream.
  const slow = await chat(port, { headers: { 'x-chaos-delay': '1' } })
  assert.equal(slow.status, 200, show(slow))
  assert.equal(slow.who, 'A')
  assert.ok(slow.ms >= 295 && slow.ms < 700, `delayed request took ${slow.ms.toFixed(0)} ms (delay 300ms)`)
  const fast = await chat(port)
  // Functional, not a speed goal: only "not delayed by the 300 ms fault" is asserted.
  assert.ok(fast.ms < 290, `undelayed request took ${fast.ms.toFixed(0)} ms`)
  // Both: wait, then the error.
  const both = await chat(port, { headers: { 'x-chaos-both': '1' } })
  assert.equal(both.status, 429, show(both))
  assert.equal(both.json?.error?.code, 'fault_injected', show(both))
  assert.equal(both.json?.error?.type, 'invalid_request_error', show(both))
  assert.ok(both.ms >= 145 && both.ms < 600, `delay+abort took ${both.ms.toFixed(0)} ms (delay 150ms)`)
  // 50 % of 200 requests, within ±12 percentage points.
  const before = chatCompletions(A).length
  let aborted = 0
  let passed = 0
  for (let batch = 0; batch < 20; batch++) {
    for (const r of await Promise.all(Array.from({ length: 10 }, () => chat(port, { headers: { 'x-chaos-half': '1' } })))) {
      if (r.status === 500 && r.json?.error?.code === 'fault_injected') aborted++
      else if (r.status === 200 && r.who === 'A') passed++
      else assert.fail(`unexpected answer: ${show(r)}`)
    }
  }
  console.log(`# fault 50%: ${aborted}/200 aborted`)
  assert.equal(aborted + passed, 200)
  assert.ok(aborted >= 76 && aborted <= 124, `${aborted}/200 aborted with percent: 50`)
  assert.equal(chatCompletions(A).length - before, passed, 'aborted requests must not reach the upstream')
})

test('a hot reload that adds an endpoint to a cluster keeps the ejection and breaker state of its unchanged endpoints', async (t) => {
  const [A, B, C] = await Promise.all(['A', 'B', 'C'].map((n) => startOpenAIUpstream(n)))
  const port = await freePort()
  const config = (admin: number, withC: boolean) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
      - cluster: ab
clusters:
  - name: ab
    provider: openai
    endpoints: [{ url: "${A.url}" }, { url: "${B.url}" }${withC ? `, { url: "${C.url}" }` : ''}]
    outlier_detection: { consecutive_5xx: 3, base_ejection_time: 30s, max_ejection_percent: 50 }
    endpoint_circuit_breaker: { consecutive_failures: 3, open_duration: 30s }
`
  const gw = await startGateway((admin) => config(admin, false), { workers: 1 })
  t.after(async () => {
    const code = await gw.stop()
    for (const u of [A, B, C]) await u.close()
    assert.equal(code, 0, gw.output())
  })
  const clusters = async () => (await fetch(`${gw.admin}/clusters`)).json() as Promise<any>
  const stateOf = async (url: string) => {
    const all = await clusters()
    const e = all.ab.endpoints.find((x: any) => x.url === url)
    assert.ok(e, `${url} not in /clusters: ${JSON.stringify(all.ab)}`)
    return Object.values(e.workers)[0] as any
  }
  A.failNext('500', '500', '500')
  for (let i = 0; i < 10 && chatCompletions(A).length < 3; i++) await chat(port)
  const before = await stateOf(A.url)
  assert.deepEqual(before.reasons, ['ejected', 'breaker_open'], JSON.stringify(before))

  const version = (await (await fetch(`${gw.admin}/config`)).json()).version
  gw.writeConfig(config(gw.adminPort, true))
  await eventually(async () => (await (await fetch(`${gw.admin}/config`)).json()).version !== version, 3000, 'the reload')
  const cfg = await (await fetch(`${gw.admin}/config`)).json()
  assert.equal(cfg.last_error, null, JSON.stringify(cfg.last_reload))
  await eventually(async () => (await clusters()).ab.endpoints.length === 3, 2000, 'C to appear in /clusters')

  const after = await stateOf(A.url)
  assert.deepEqual(after.reasons, ['ejected', 'breaker_open'], `A's state after the reload: ${JSON.stringify(after)}\nbefore: ${JSON.stringify(before)}\n${gw.output()}`)
  assert.equal(after.outlier.ejections, 1, JSON.stringify(after))
  assert.equal(after.outlier.until, before.outlier.until, 'the ejection was restarted or shortened by the reload')
  const c = await stateOf(C.url)
  assert.equal(c.eligible, true, JSON.stringify(c))
  const seenByA = chatCompletions(A).length
  const who = new Set<string | undefined>()
  for (let i = 0; i < 9; i++) {
    const r = await chat(port)
    assert.equal(r.status, 200, show(r))
    who.add(r.who)
  }
  assert.deepEqual([...who].sort(), ['B', 'C'])
  assert.equal(chatCompletions(A).length, seenByA, 'the ejected endpoint got traffic after the reload')
  // Sanity: the reload really changed the cluster (readFileSync of the live file).
  assert.match(readFileSync(gw.configPath, 'utf8'), new RegExp(String(C.port)))
})

test('a cluster with no eligible endpoint is passed over for the next fallback; the last cluster serves in panic mode', async (t) => {
  const { port, up, endpoint } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - name: chain
        match: { headers: [{ name: x-case, exact: chain }] }
        fallback: { clusters: [{ cluster: sick }, { cluster: backup }], on: [connect_failure] }
      - name: alone
        match: { headers: [{ name: x-case, exact: alone }] }
        cluster: sick
clusters:
  - name: sick
    provider: openai
    # Outlier detection never ejects a cluster's last endpoint; a breaker does open on it.
    endpoint_circuit_breaker: { consecutive_failures: 1, open_duration: 30s }
    endpoints: [{ url: "${u.A.url}" }]
  - { name: backup, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`)
  up.A.failNext('500')
  const first = await chat(port, { headers: { 'x-case': 'alone' } })
  assert.equal(first.status, 500, show(first))
  assert.deepEqual((await endpoint('sick', up.A.url)).reasons, ['breaker_open'])
  const seenByA = chatCompletions(up.A).length
  // 500s are not in this chain's `on` list: only "nothing eligible" can move it to the backup.
  const r = await chat(port, { headers: { 'x-case': 'chain' } })
  assert.equal(r.who, 'B', show(r))
  assert.equal(r.headers.get('x-switchyard-cluster'), 'backup', show(r))
  assert.equal(r.headers.get('x-switchyard-attempts'), '1', 'passing over an ineligible cluster is not an attempt')
  assert.equal(chatCompletions(up.A).length, seenByA, 'the broken endpoint got the chain request')
  // Without a fallback, the only endpoint still serves (panic mode) rather than nothing.
  const alone = await chat(port, { headers: { 'x-case': 'alone' } })
  assert.equal(alone.who, 'A', show(alone))
})

test('panic_threshold: below it, traffic spreads over all endpoints instead of piling onto the last healthy one', async (t) => {
  const { port, up, endpoint } = await rig(t, ['A', 'B', 'C'], (u) => `
routes:
  - name: main
    rules:
      - { match: { headers: [{ name: x-case, exact: strict }] }, cluster: strict }
      - { match: { headers: [{ name: x-case, exact: panicky }] }, cluster: panicky }
clusters:
  - name: strict
    provider: openai
    outlier_detection: { consecutive_5xx: 1, base_ejection_time: 30s, max_ejection_percent: 100 }
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }, { url: "${u.C.url}" }]
  - name: panicky
    provider: openai
    panic_threshold: 50
    outlier_detection: { consecutive_5xx: 1, base_ejection_time: 30s, max_ejection_percent: 100 }
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }, { url: "${u.C.url}" }]
`)
  // Eject A and B in both clusters (round robin: A, B, C); C stays eligible: 33 % healthy.
  for (const cluster of ['strict', 'panicky']) {
    up.A.failNext('500')
    up.B.failNext('500')
    for (let i = 0; i < 3; i++) await chat(port, { headers: { 'x-case': cluster } })
    assert.deepEqual([(await endpoint(cluster, up.A.url)).reasons, (await endpoint(cluster, up.B.url)).reasons, (await endpoint(cluster, up.C.url)).reasons], [['ejected'], ['ejected'], []], cluster)
  }
  const who = async (cluster: string) => {
    const seen: Record<string, number> = {}
    for (let i = 0; i < 12; i++) {
      const r = await chat(port, { headers: { 'x-case': cluster } })
      seen[r.who ?? '?'] = (seen[r.who ?? '?'] ?? 0) + 1
    }
    return seen
  }
  assert.deepEqual(await who('strict'), { C: 12 })
  const spread = await who('panicky')
  assert.ok(Object.keys(spread).length === 3 && spread.A >= 3 && spread.B >= 3, `below the 50 % panic threshold all three should share: ${JSON.stringify(spread)}`)
})

/** An Anthropic Messages upstream that streams `events` (already framed) and then closes. */
async function startAnthropicStream(t: TestContext, events: string[]): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      hits++
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.end(events.join(''))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits: () => hits }
}

const anthropicEvent = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
const ANTHROPIC_START = anthropicEvent('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } })

test('a translated stream that breaks after its first bytes ends with an error event, never as a success', async (t) => {
  const broken = await startAnthropicStream(t, [ANTHROPIC_START, anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'partial' } })])
  const { port } = await rig(t, [], () => `
routes: [{ name: main, rules: [{ cluster: broken }] }]
clusters: [{ name: broken, provider: anthropic, endpoints: [{ url: "${broken.url}", api_key: k }] }]
`)
  const r = await chat(port, { stream: true })
  assert.equal(r.status, 200, show(r))
  assert.equal(r.content, 'partial', show(r))
  assert.ok(!r.events.includes('[DONE]'), `the stream ended as a success: ${show(r)}`)
  assert.match(JSON.parse(r.events.at(-1)!).error.message, /ended before the response was complete/, show(r))
})

test('a translated stream that fails before the client got anything (bad event, upstream error event, early end) is failed over invisibly', async (t) => {
  const cases = {
    // Each fails before any content: the role chunk that message_start yields is held back until
    // real output follows, so failing right after it is still invisible.
    malformed: await startAnthropicStream(t, ['event: message_start\ndata: {"type":"message_start",\n\n']),
    overloaded: await startAnthropicStream(t, [anthropicEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })]),
    early: await startAnthropicStream(t, []),
    'overloaded-after-start': await startAnthropicStream(t, [ANTHROPIC_START, anthropicEvent('ping', {}), anthropicEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })]),
    'closed-after-start': await startAnthropicStream(t, [ANTHROPIC_START]),
  }
  const { port } = await rig(t, ['B'], (u) => `
routes:
  - name: main
    rules:
${Object.keys(cases).map((k) => `      - { match: { headers: [{ name: x-case, exact: ${k} }] }, fallback: { clusters: [{ cluster: ${k} }, { cluster: backup }] } }`).join('\n')}
clusters:
${Object.entries(cases).map(([k, c]) => `  - { name: ${k}, provider: anthropic, endpoints: [{ url: "${c.url}", api_key: k }] }`).join('\n')}
  - { name: backup, provider: openai, endpoints: [{ url: "${u.B.url}" }] }
`)
  for (const [k, c] of Object.entries(cases)) {
    const r = await chat(port, { headers: { 'x-case': k }, stream: true })
    assert.equal(c.hits(), 1, `${k}: the anthropic upstream was not asked`)
    assert.equal(r.status, 200, `${k}: ${show(r)}`)
    assert.equal(r.content, 'Hello from B.', `${k}: ${show(r)}`)
    assert.equal(r.headers.get('x-switchyard-cluster'), 'backup', `${k}: ${show(r)}`)
    assert.ok(!r.text.includes('error'), `${k}: the client saw the failure: ${show(r)}`)
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
  process.stdout.write(s.address().port + '\\n')
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 50)
})`], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => { child.kill('SIGKILL') })
  const port = await new Promise<number>((r) => child.stdout.once('data', (d) => r(Number(String(d).trim()))))
  await new Promise((r) => setTimeout(r, 150))
  const fillers = Array.from({ length: 4 }, () => connect(port, '127.0.0.1').on('error', () => {}))
  t.after(() => { for (const f of fillers) f.destroy() })
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
  assert.ok(viaRoute.ms >= 120 && viaRoute.ms < 500, `route connect_timeout 150ms, took ${viaRoute.ms.toFixed(0)} ms`)

  const chain = await chat(port, { headers: { 'x-case': 'chain' } })
  assert.equal(chain.who, 'B', show(chain))
  assert.equal(chain.headers.get('x-switchyard-attempts'), '2', show(chain))
  assert.ok(chain.ms < 600, `failing over past the unreachable endpoint took ${chain.ms.toFixed(0)} ms`)
})

test('a stream that breaks mid-answer counts against its endpoint (outlier detection judges streams at their end)', async (t) => {
  const { port, up, endpoint } = await rig(t, ['A', 'B'], (u) => `
routes: [{ name: main, rules: [{ cluster: pair }] }]
clusters:
  - name: pair
    provider: openai
    lb: weighted
    outlier_detection: { consecutive_gateway_errors: 2, consecutive_5xx: 100, base_ejection_time: 30s }
    endpoints: [{ url: "${u.A.url}", weight: 1000 }, { url: "${u.B.url}", weight: 1 }]
`)
  for (let i = 0; i < 2; i++) {
    const r = await chat(port, { stream: true, model: 'cut-stream' })
    assert.equal(r.who === 'A' || r.content.startsWith('Hello '), true, show(r))
    assert.ok(!r.events.includes('[DONE]'), `a cut stream ended as a success: ${show(r)}`)
  }
  const a = await endpoint('pair', up.A.url)
  assert.deepEqual(a.reasons, ['ejected'], JSON.stringify(a))
  assert.equal(a.outlier.ejectedFor, 'consecutive_gateway_errors', JSON.stringify(a))
  const next = await chat(port)
  assert.equal(next.who, 'B', show(next))
})

test('an ejected endpoint comes back after base_ejection_time, and a second ejection lasts twice as long', async (t) => {
  const { port, up, endpoint } = await rig(t, ['A', 'B'], (u) => `
routes: [{ name: main, rules: [{ cluster: pair }] }]
clusters:
  - name: pair
    provider: openai
    outlier_detection: { consecutive_5xx: 2, base_ejection_time: 400ms, max_ejection_time: 10s, max_ejection_percent: 50 }
    endpoints: [{ url: "${u.A.url}" }, { url: "${u.B.url}" }]
`)
  const ejectA = async () => {
    up.A.failNext('500', '500')
    for (let i = 0; i < 6 && (await endpoint('pair', up.A.url)).reasons.length === 0; i++) await chat(port)
    const a = await endpoint('pair', up.A.url)
    assert.deepEqual(a.reasons, ['ejected'], JSON.stringify(a))
    return performance.now()
  }
  const backAfter = async (since: number) => {
    for (;;) {
      if ((await endpoint('pair', up.A.url)).reasons.length === 0) return performance.now() - since
      assert.ok(performance.now() - since < 3000, 'A never came back')
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const first = await backAfter(await ejectA())
  assert.ok(first >= 350 && first < 800, `first ejection lasted ${first.toFixed(0)} ms (base 400 ms)`)
  const servedByA = async () => { for (let i = 0; i < 4; i++) if ((await chat(port)).who === 'A') return true; return false }
  assert.ok(await servedByA(), 'A got no traffic after its ejection ended')
  const second = await backAfter(await ejectA())
  assert.ok(second >= 750 && second < 1300, `second ejection lasted ${second.toFixed(0)} ms (2 × 400 ms)`)
})

test("a stream's opening alone (the role chunk) is held back: a reset right after it fails over invisibly, a long think still gets headers after ~1 s", async (t) => {
  const { port, up } = await rig(t, ['A', 'B'], aThenB)
  up.A.failNext('role-then-reset')
  const r = await chat(port, { stream: true })
  assert.equal(r.content, 'Hello from B.', show(r))
  assert.equal(r.headers.get('x-switchyard-cluster'), 'only-b', show(r))
  assert.equal(r.headers.get('x-switchyard-attempts'), '2', show(r))

  // A model that thinks for 1.8 s after its role chunk: the client gets headers and the role chunk
  // when the hold ends (~1 s), not only with the first token.
  up.A.failNext('role-then-think:1800')
  const t0 = performance.now()
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const headersAt = performance.now() - t0
  const body = await res.text()
  const doneAt = performance.now() - t0
  assert.ok(headersAt >= 900 && headersAt < 1600, `headers after ${headersAt.toFixed(0)} ms (hold 1000 ms, first token at 1800 ms)`)
  assert.ok(doneAt >= 1750, `answer complete after ${doneAt.toFixed(0)} ms`)
  assert.match(body, /"role":"assistant"[\s\S]*Thought it through\.[\s\S]*\[DONE\]/, body)
})
