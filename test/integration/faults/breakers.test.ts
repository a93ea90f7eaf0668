/**
 * The endpoint circuit breaker end to end: its transitions (open, half-open probe, re-open, close)
 * as /clusters and the log show them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually } from '../../support/gateway-process.js'
import { chat, chatCompletions, rig, show, sleep } from '../../support/fault-rig.js'

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
