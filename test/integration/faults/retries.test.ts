/**
 * Retries and fail-over under upstream faults end to end: 529 overloads, a flapping endpoint and a
 * killed one, each behind a retry policy or a fallback chain; the client never sees the failure.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually } from '../../support/gateway-process.js'
import { chat, chatCompletions, rig, show } from '../../support/fault-rig.js'

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
  await eventually(() => chatCompletions(A).length >= seen + 2, undefined, 'two requests in flight on A')
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
