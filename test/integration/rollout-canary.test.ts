/**
 * Progressive canaries end to end: a gateway (two worker threads) in front of two real
 * OpenAI-format upstreams, traffic from the official openai SDK flowing the whole time (sticky by
 * x-user-id over a fixed set of users). A healthy candidate walks 1 → 5 → 25 → 50 → 100 % and
 * completes; one that starts failing 10 % of its requests at the 5 % step is sent back to 0 % by
 * the guards. Either way no request fails except the candidate's own 500s, a user never moves back
 * and forth while the share grows, and the decisions with their numbers are in the log.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { runCli } from '../support/run-cli.js'
import type { RolloutStatus } from '../../src/control/rollouts.js'

const USERS = 300

interface Outcome { user: string; cluster: string | null; status: number; at: number }

/** Keeps `concurrency` SDK calls in flight until stopped; every answer (or error) is recorded. */
function traffic(client: OpenAI, concurrency = 6) {
  const outcomes: Outcome[] = []
  let running = true
  let n = 0
  const one = async () => {
    const user = `user-${n++ % USERS}`
    try {
      const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-user-id': user } }).withResponse()
      outcomes.push({ user, cluster: response.headers.get('x-switchyard-cluster'), status: response.status, at: Date.now() })
    } catch (e) {
      const status = e instanceof OpenAI.APIError ? (e.status ?? 0) : 0
      // The SDK's error carries the answer's headers (a Headers object or a plain record, by SDK version).
      const h = e instanceof OpenAI.APIError ? (e.headers as unknown as Headers | Record<string, string> | undefined) : undefined
      const cluster = (h instanceof Headers ? h.get('x-switchyard-cluster') : h?.['x-switchyard-cluster']) ?? null
      outcomes.push({ user, cluster, status, at: Date.now() })
    }
  }
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await one()
  })
  return { outcomes, stop: async () => { running = false; await Promise.all(loops) } }
}

async function rollout(gw: GatewayProcess): Promise<RolloutStatus> {
  const body = (await (await fetch(`${gw.admin}/rollouts`)).json()) as { rollouts: RolloutStatus[] }
  return body.rollouts[0]
}

/** Per user, the clusters that answered in order, with repeats collapsed: ['stable', 'candidate'] is one move. */
function moves(outcomes: readonly Outcome[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const o of outcomes) {
    if (o.cluster === null) continue
    const seq = out.get(o.user) ?? []
    if (seq[seq.length - 1] !== o.cluster) seq.push(o.cluster)
    out.set(o.user, seq)
  }
  return out
}

async function canary(guards: string): Promise<{ gw: GatewayProcess; stable: Upstream; candidate: Upstream; client: OpenAI; reloadOtherChange: () => void }> {
  const stable = await startOpenAIUpstream('stable')
  const candidate = await startOpenAIUpstream('candidate')
  const port = await freePort()
  const config = (admin: number, clusterTimeout = '120s') => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        weighted_clusters:
          hash_on: { header: x-user-id }
          clusters:
            - { name: stable, weight: 100 }
            - { name: candidate, weight: 0 }
          rollout:
            candidate: candidate
            baseline: stable
            steps: [1, 5, 25, 50, 100]
            step_duration: 1s
            guards: ${guards}
clusters:
  - { name: stable, provider: openai, models: [gpt-4o], endpoints: [{ name: s0, url: "${stable.url}", api_key: sk-stable-secret }] }
  - { name: candidate, provider: openai, models: [gpt-4o], timeout: ${clusterTimeout}, endpoints: [{ name: c0, url: "${candidate.url}", api_key: sk-candidate-secret }] }
`
  const gw = await startGateway((admin) => config(admin), { workers: 2 })
  /** A reload that changes a cluster, not the rule: the rollout must carry on where it is. */
  const reloadOtherChange = () => gw.writeConfig(config(gw.adminPort, '90s'))
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-client', maxRetries: 0 })
  return { gw, stable, candidate, client, reloadOtherChange }
}

describe('a healthy canary', () => {
  let c: Awaited<ReturnType<typeof canary>>
  // The latency guard is wired but loose: a p95 over a few requests on a busy machine can spike
  // (its arithmetic is pinned in test/control/rollouts.test.ts).
  before(async () => { c = await canary('{ max_error_rate: { over_baseline: 0.02 }, max_p95_latency_ratio: 20, min_requests: 5 }') })
  after(async () => { await c.gw.stop(); await c.stable.close(); await c.candidate.close() })

  test('walks every step to 100 % with no failed request, and no user moves back', async () => {
    const t = traffic(c.client)
    const shares: number[] = []
    let reloaded: string | undefined
    try {
      await eventually(async () => (await rollout(c.gw)).share_percent >= 25, 15_000, 'the 25 % step')
      const before = (await (await fetch(`${c.gw.admin}/config`)).json()) as { version: string }
      c.reloadOtherChange()
      await eventually(async () => {
        const now = (await (await fetch(`${c.gw.admin}/config`)).json()) as { version: string }
        return now.version !== before.version && (reloaded = now.version) !== undefined
      }, undefined, 'the reload')
      assert.ok((await rollout(c.gw)).share_percent >= 25, 'the reload kept the rollout where it was')
      await eventually(async () => {
        const r = await rollout(c.gw)
        if (shares[shares.length - 1] !== r.share_percent) shares.push(r.share_percent)
        if (r.state === 'rolled_back') assert.fail(`a healthy canary was rolled back: ${JSON.stringify(r.decisions)}`)
        return r.state === 'complete'
      }, 25_000, 'the rollout to complete')
      // Traffic after completion all goes to the candidate.
      const since = Date.now()
      await eventually(() => t.outcomes.filter((o) => o.at > since).length >= 30, undefined, 'traffic after completion')
    } finally {
      await t.stop()
    }
    const r = await rollout(c.gw)
    assert.equal(r.share_percent, 100)
    assert.deepStrictEqual(r.effective_weights, { stable: 0, candidate: 100 })
    assert.deepStrictEqual(r.configured_weights, { stable: 100, candidate: 0 })
    assert.deepStrictEqual(shares.filter((s) => s !== 100).concat(100), [...new Set(shares)].filter((s) => s !== 100).concat(100))
    for (let i = 1; i < shares.length; i++) assert.ok(shares[i] > shares[i - 1], `shares only grow: ${shares}`)
    assert.ok(reloaded)
    assert.deepStrictEqual(r.decisions.map((d) => `${d.event} ${d.share_percent}`), ['started 1', 'step passed 5', 'step passed 25', 'step passed 50', 'step passed 100', 'complete 100'])

    const failed = t.outcomes.filter((o) => o.status !== 200)
    assert.deepStrictEqual(failed, [], 'no request failed')
    const last = t.outcomes.slice(-20)
    assert.ok(last.every((o) => o.cluster === 'candidate'), JSON.stringify(last))
    for (const [user, seq] of moves(t.outcomes)) {
      assert.ok(seq.length <= 2 && (seq.length < 2 || (seq[0] === 'stable' && seq[1] === 'candidate')), `${user} went ${seq.join(' → ')}`)
    }

    const ex = (await (await fetch(`${c.gw.admin}/experiments`)).json()) as { experiments: { variants: { variant: string; weight: number; effective_weight?: number }[] }[] }
    assert.deepStrictEqual(ex.experiments[0].variants.map((v) => [v.variant, v.weight, v.effective_weight]), [['stable', 100, 0], ['candidate', 0, 100]])

    const log = c.gw.output()
    assert.match(log, /rollout step passed rollout=main\/chat candidate=candidate baseline=stable share_percent=5 step=2\/5 reason="guards held for 1000 ms; now 5%" candidate_window=\{"requests":\d+/)
    assert.match(log, /rollout complete rollout=main\/chat/)
  })
})

describe('a canary that starts failing at the 5 % step', () => {
  let c: Awaited<ReturnType<typeof canary>>
  before(async () => { c = await canary('{ max_error_rate: { over_baseline: 0.03 }, min_requests: 10 }') })
  after(async () => { await c.gw.stop(); await c.stable.close(); await c.candidate.close() })

  test('is rolled back to 0 % with the numbers logged; only its own 500s fail', async () => {
    const t = traffic(c.client)
    let rolledBackAt = 0
    try {
      await eventually(async () => (await rollout(c.gw)).share_percent === 5, 15_000, 'the 5 % step')
      // One in ten of the candidate's requests from now on answers 500.
      for (let i = 0; i < 100; i++) c.candidate.failNext('500', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok')
      await eventually(async () => (await rollout(c.gw)).state === 'rolled_back', 15_000, 'the rollback')
      rolledBackAt = Date.now()
      await eventually(() => t.outcomes.filter((o) => o.at > rolledBackAt + 200).length >= 50, undefined, 'traffic after the rollback')
    } finally {
      await t.stop()
    }
    const r = await rollout(c.gw)
    assert.equal(r.share_percent, 0)
    assert.deepStrictEqual(r.effective_weights, { stable: 100, candidate: 0 })
    const back = r.decisions[r.decisions.length - 1]
    assert.equal(back.event, 'rolled back')
    assert.match(back.reason!, /^error rate \d+(\.\d+)?% \(\d+\/\d+\) > baseline 0% \(0\/\d+\) \+ 3%$/)
    assert.ok(back.candidate!.errors >= 1 && back.candidate!.error_rate! > 0.03, JSON.stringify(back))
    assert.equal(back.baseline!.errors, 0)
    // It was the 5 % step (or, if that step had passed before the first failure, the next).
    assert.ok(['step passed 5', 'step passed 25'].includes(`${r.decisions[r.decisions.length - 2].event} ${r.decisions[r.decisions.length - 2].share_percent}`), JSON.stringify(r.decisions))

    const failed = t.outcomes.filter((o) => o.status !== 200)
    assert.ok(failed.length >= 1)
    assert.deepStrictEqual(failed.filter((o) => !(o.status === 500 && o.cluster === 'candidate')), [], 'only the candidate\'s own 500s fail')
    const after = t.outcomes.filter((o) => o.at > rolledBackAt + 200)
    assert.ok(after.every((o) => o.cluster === 'stable' && o.status === 200), 'after the rollback everything is served by stable')

    assert.match(c.gw.output(), /warn \[main\] rollout rolled back rollout=main\/chat candidate=candidate baseline=stable share_percent=0 step=\d\/5 reason="error rate [^"]+" candidate_window=\{"requests":\d+,"errors":[1-9]/)

    // The CLI shows the same, and can start it again.
    const status = await runCli(['rollout', 'status', '--admin', c.gw.admin])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /rollout main\/chat: candidate over stable, rolled back at 0%/)
    assert.match(status.stdout, /rolled back → 0%: error rate/)
    const resumed = await runCli(['rollout', 'resume', 'chat', '--admin', c.gw.admin])
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout, /running at 1%/)
    const paused = await runCli(['rollout', 'pause', '--admin', c.gw.admin])
    assert.match(paused.stdout, /paused at 1%/)
    const aborted = await runCli(['rollout', 'abort', 'main/chat', '--admin', c.gw.admin])
    assert.match(aborted.stdout, /aborted at 0%/)
    const again = await runCli(['rollout', 'abort', '--admin', c.gw.admin])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /switchyard rollout abort: POST \/rollouts\/main\/chat\/abort answered 409: rollout main\/chat is aborted: the candidate is already at 0 %/)
    // A browser page cannot steer it.
    const fromPage = await fetch(`${c.gw.admin}/rollouts/main/chat/resume`, { method: 'POST', headers: { origin: 'http://evil.example' } })
    assert.equal(fromPage.status, 403)
  })
})
