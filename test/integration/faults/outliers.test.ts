/**
 * Outlier detection end to end: latency ejection, 429 cooldowns that never eject, broken streams
 * judged at their end, and ejections that end and grow.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually } from '../../support/gateway-process.js'
import { chat, chatCompletions, rig, show } from '../../support/fault-rig.js'

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
  await eventually(() => /endpoint ejected .*reason=latency/.test(gw.output()), undefined, 'the ejection log line').catch(() => {})
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
  // Each instant is known only as a bracket (sent … answered); on a loaded box the brackets are
  // wide, so "too short" is judged by the longest the ejection can have lasted and "too long" by
  // the shortest, less the polling gap: a slow box widens the brackets, it cannot fail the test.
  /** Ejects A; returns the bracket of the moment it was ejected (the last chat's send … the check that saw it). */
  const ejectA = async () => {
    up.A.failNext('500', '500')
    let lo = performance.now()
    for (let i = 0; i < 6 && (await endpoint('pair', up.A.url)).reasons.length === 0; i++) {
      lo = performance.now()
      await chat(port)
    }
    const a = await endpoint('pair', up.A.url)
    assert.deepEqual(a.reasons, ['ejected'], JSON.stringify(a))
    return { lo, hi: performance.now() }
  }
  /** Polls until A is back; the ejection's duration as [shortest, longest] and the widest gap between polls. */
  const backAfter = async (ejected: { lo: number; hi: number }) => {
    let gapMs = 0
    for (let last = performance.now(); ;) {
      const askedAt = performance.now()
      gapMs = Math.max(gapMs, askedAt - last)
      last = askedAt
      if ((await endpoint('pair', up.A.url)).reasons.length === 0) return { shortest: askedAt - ejected.hi, longest: performance.now() - ejected.lo, gapMs }
      assert.ok(performance.now() - ejected.hi < 10_000, 'A never came back')
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const lasted = (d: { shortest: number; longest: number; gapMs: number }) => `${d.shortest.toFixed(0)}–${d.longest.toFixed(0)} ms (polling gap ${d.gapMs.toFixed(0)} ms)`
  const first = await backAfter(await ejectA())
  assert.ok(first.longest >= 350 && first.shortest < 800 + 2 * first.gapMs, `first ejection lasted ${lasted(first)} (base 400 ms)`)
  const servedByA = async () => { for (let i = 0; i < 4; i++) if ((await chat(port)).who === 'A') return true; return false }
  assert.ok(await servedByA(), 'A got no traffic after its ejection ended')
  const second = await backAfter(await ejectA())
  assert.ok(second.longest >= 750 && second.shortest < 1300 + 2 * second.gapMs, `second ejection lasted ${lasted(second)} (2 × 400 ms)`)
  console.log(`# outliers: first ejection ${lasted(first)}, second ${lasted(second)}`)
})
