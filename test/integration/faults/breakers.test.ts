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
  // When the breaker opened is known only to lie between the send of the third failing request
  // and its answer; on a loaded box that bracket is wide, so every timing check below uses the
  // side of it that a slow box cannot turn into a false failure.
  let openingSentAt = 0
  let openedAt = 0
  for (let i = 0; i < 10 && chatCompletions(A).length < 3; i++) {
    openingSentAt = performance.now()
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

  /**
   * Sends a request every ~20 ms until A gets one (a probe). Returns the probe's send and answer
   * times and the widest gap between two sends (how coarsely a slow box let us sample).
   */
  const untilProbe = async (from: number, limitMs: number) => {
    const seen = chatCompletions(A).length
    let gapMs = 0
    let lastSentAt: number | undefined
    while (performance.now() - from < limitMs) {
      const sentAt = performance.now()
      if (lastSentAt !== undefined) gapMs = Math.max(gapMs, sentAt - lastSentAt)
      lastSentAt = sentAt
      const r = await chat(port)
      assert.equal(r.status, 200, `while waiting for a probe: ${show(r)}\n${gw.output()}`)
      if (chatCompletions(A).length > seen) return { sentAt, answeredAt: performance.now(), gapMs, r }
      assert.equal(r.who, 'B', `A got traffic while its breaker was open: ${show(r)}`)
      await sleep(20)
    }
    assert.fail(`no half-open probe reached A within ${limitMs} ms\n${gw.output()}`)
  }
  /**
   * The probe came after `openMs` and not much later, judged from the bracket [openLo, openHi] of
   * the opening: "too early" uses the longest the wait can have been (probe answered − opening sent),
   * "too late" the shortest (probe sent − opening answered) less the sampling gap (a probe can
   * only be seen at the next send; the balancer may pick B once more first).
   */
  const assertProbeTiming = (what: string, openLo: number, openHi: number, p: { sentAt: number; answeredAt: number; gapMs: number }, openMs: number) => {
    const longest = p.answeredAt - openLo
    const shortest = p.sentAt - openHi
    const detail = `${what}: ${shortest.toFixed(0)}–${longest.toFixed(0)} ms after opening (open_duration ${openMs} ms, sampling gap ${p.gapMs.toFixed(0)} ms)`
    assert.ok(longest >= openMs - 60, `probe before open_duration: ${detail}`)
    assert.ok(shortest <= openMs + 300 + 2 * p.gapMs, `probe late: ${detail}`)
    return detail
  }
  // First probe after ~open_duration; it fails (a 503, retried on B), re-opening for twice as long.
  // The give-up limits are generous: lateness is judged by assertProbeTiming, not by the limit.
  const p1 = await untilProbe(openedAt, 3 * OPEN_MS + 10_000)
  assert.equal(p1.r.who, 'B', 'the failed probe was retried on the peer')
  const first = assertProbeTiming('first probe', openingSentAt, openedAt, p1, OPEN_MS)
  const reopenedAt = p1.answeredAt
  const again = await endpoint('brk', A.url)
  assert.equal(again.breaker.state, 'open', JSON.stringify(again))
  assert.equal(again.breaker.openings, 2, JSON.stringify(again))
  // Second probe after ~2 × open_duration; it succeeds and closes the breaker.
  // It re-opened while the failed probe was handled: between p1's send and its answer.
  const p2 = await untilProbe(reopenedAt, 6 * OPEN_MS + 10_000)
  assert.equal(p2.r.who, 'A', 'the successful probe answered the client')
  const second = assertProbeTiming('second probe', p1.sentAt, p1.answeredAt, p2, 2 * OPEN_MS)
  console.log(`# breaker: ${first}; ${second}`)
  const closed = await endpoint('brk', A.url)
  assert.equal(closed.breaker.state, 'closed', JSON.stringify(closed))
  assert.equal(closed.eligible, true, JSON.stringify(closed))
  const back = new Set<string | undefined>()
  for (let i = 0; i < 6; i++) back.add((await chat(port)).who)
  assert.deepEqual([...back].sort(), ['A', 'B'], 'both endpoints serve again')
  // Every transition is logged, with the endpoint and the reason.
  const transitions = ['from=closed to=open reason=consecutive_failures', 'from=open to=half_open reason=open_elapsed', 'from=half_open to=open reason=probe_failed', 'from=half_open to=closed reason=probes_succeeded']
  await eventually(() => transitions.every((s) => gw.output().includes(s)), undefined, 'the breaker transitions in the log').catch(() => {})
  const lines = gw.output().split('\n').filter((l) => l.includes('circuit breaker'))
  for (const s of transitions) assert.ok(lines.some((l) => l.includes(s) && l.includes(`:${A.port}`)), `no log line with "${s}" for A:\n${lines.join('\n')}`)
})
