/**
 * One rollout, two gateway hosts, one etcd prefix (issue 17: "with etcd, the rollout state lives
 * under the prefix so every host follows the same schedule and a restarted host resumes it").
 * Both hosts serve one listener port (SO_REUSEPORT) and every request of the official openai SDK
 * comes on a new connection, so both carry traffic; each host sends its own upstream key
 * (`${env:HOST_KEY}`), so the upstreams can tell which host a request came through. The hosts
 * show the same step and effective weights as the rollout advances; a killed and restarted host
 * resumes the step it missed, with the step's clock; `switchyard rollout abort` on one host stops
 * the candidate on the other within a second; `resume` on the other starts a new run on both; a
 * pushed config that leaves the rule alone keeps the run, one that changes it starts a new run on
 * both; a candidate that fails only for one host's requests is rolled back on both.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { Agent } from 'undici'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { receive, startHttpServer, type LocalHttpServer } from '../support/http-server.js'
import { runCli, startEtcd, startEtcdGateway, type EtcdGateway, type EtcdServer } from '../support/etcd-server.js'
import { commitPush, planChanges, readCurrent, readDesired } from '../../src/commands/config.js'
import type { RolloutStatus } from '../../src/control/rollouts.js'

const PREFIX = '/switchyard/canary/'
const STEPS = Array.from({ length: 19 }, (_, i) => 10 + i * 5) // 10, 15, …, 100
// 19 steps of 700 ms: long enough that a kill and a restart on a busy machine fit before the end.
const STEP_MS = 700

/** An OpenAI-format upstream that counts requests per upstream key and can fail half of one key's. */
async function upstream(name: string) {
  const seen: { key: string; at: number }[] = []
  let breakKey: string | undefined
  let n = 0
  const server: LocalHttpServer = await startHttpServer((req, res) => receive(req, () => {
    const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    seen.push({ key, at: Date.now() })
    if (key === breakKey && n++ % 2 === 0) {
      res.writeHead(500, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ error: { message: `${name} is broken for ${key}`, type: 'server_error', code: null, param: null } }))
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: `from ${name}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }))
  }))
  return {
    url: server.origin,
    close: () => server.close(),
    breakFor: (key: string | undefined) => void (breakKey = key),
    count: (key: string, since = 0) => seen.filter((s) => s.key === key && s.at >= since).length,
  }
}

interface Outcome { status: number; cluster: string | null; at: number }

/** `concurrency` SDK calls in flight until stopped, each on a new connection (so the kernel spreads them over both hosts). */
function traffic(port: number, concurrency = 8) {
  const dispatcher = new Agent({ pipelining: 0 })
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-client', maxRetries: 0, fetchOptions: { dispatcher } as unknown as NonNullable<ConstructorParameters<typeof OpenAI>[0]>["fetchOptions"] })
  const outcomes: Outcome[] = []
  let running = true
  const one = async () => {
    try {
      const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse()
      outcomes.push({ status: response.status, cluster: response.headers.get('x-switchyard-cluster'), at: Date.now() })
    } catch (e) {
      const h = e instanceof OpenAI.APIError ? (e.headers as unknown as Headers | undefined) : undefined
      outcomes.push({ status: e instanceof OpenAI.APIError ? (e.status ?? 0) : 0, cluster: h?.get?.('x-switchyard-cluster') ?? null, at: Date.now() })
    }
  }
  const loops = Array.from({ length: concurrency }, async () => { while (running) await one() })
  return { outcomes, stop: async () => { running = false; await Promise.all(loops); await dispatcher.close() } }
}

async function rollout(admin: string): Promise<RolloutStatus> {
  const body = (await (await fetch(`${admin}/rollouts`)).json()) as { rollouts: RolloutStatus[] }
  return body.rollouts[0]
}

describe('two gateway hosts on one etcd prefix follow one rollout', () => {
  let etcd: EtcdServer
  let stable: Awaited<ReturnType<typeof upstream>>
  let candidate: Awaited<ReturnType<typeof upstream>>
  let port: number
  const admins: number[] = []
  const hosts: EtcdGateway[] = []
  let t: ReturnType<typeof traffic>
  /** While host b was down: requests it had accepted were cut (status 0), not failed by the rollout. */
  const down = { from: Infinity, to: -Infinity }
  const start = (i: number) => startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1', '--admin-port', String(admins[i])], { adminPort: admins[i], env: { HOST_KEY: `sk-host-${i}` } })
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollout-etcd-'))
  const config = (o: { steps: readonly number[]; stepMs: number; candidateTimeout?: string }) => `
admin: { port: 9901 }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        weighted_clusters:
          clusters:
            - { name: stable, weight: 100 }
            - { name: candidate, weight: 0 }
          rollout:
            candidate: candidate
            baseline: stable
            steps: [${o.steps.join(', ')}]
            step_duration: ${o.stepMs}ms
            guards: { max_error_rate: 0.2, min_requests: 3 }
clusters:
  - { name: stable, provider: openai, models: [gpt-4o], endpoints: [{ name: s0, url: "${stable.url}", api_key: "\${env:HOST_KEY}" }] }
  - { name: candidate, provider: openai, models: [gpt-4o], timeout: ${o.candidateTimeout ?? '60s'}, endpoints: [{ name: c0, url: "${candidate.url}", api_key: "\${env:HOST_KEY}" }] }
`
  /** What `config push` does, in-process: read, plan, one guarded transaction. */
  const push = async (text: string) => {
    const file = join(dir, `config-${Date.now()}.yaml`)
    writeFileSync(file, text)
    const desired = await readDesired(file)
    assert.ok(desired)
    const current = await readCurrent(etcd.client, PREFIX)
    const pushed = await commitPush(etcd.client, planChanges(current, desired), current, PREFIX)
    assert.ok(pushed.ok, pushed.message)
    return String(pushed.revision)
  }
  const versions = async () => Promise.all(hosts.map(async (h) => ((await (await fetch(`${h.admin}/config`)).json()) as { version: string }).version))
  const a = () => hosts[0]
  const b = () => hosts[1]
  const hostOf = (gw: EtcdGateway) => `${hostname()}:${gw.child.pid}`

  before(async () => {
    etcd = await startEtcd()
    stable = await upstream('stable')
    candidate = await upstream('candidate')
    port = await freePort()
    admins.push(await freePort(), await freePort())
    await push(config({ steps: STEPS, stepMs: STEP_MS }))
    hosts.push(await start(0), await start(1))
    t = traffic(port)
  })
  after(async () => {
    await t?.stop()
    for (const h of hosts) await h.stop()
    await stable?.close()
    await candidate?.close()
    await etcd?.close()
  })

  test('both hosts show the same step and effective weights as the rollout advances, each step passed once', async () => {
    const samples: { at: number; a: RolloutStatus; b: RolloutStatus }[] = []
    await eventually(async () => {
      const [ra, rb] = await Promise.all([rollout(a().admin), rollout(b().admin)])
      samples.push({ at: Date.now(), a: ra, b: rb })
      assert.equal(ra.state, 'running', JSON.stringify(ra.decisions))
      return ra.step >= 3 && rb.step >= 3
    }, 20_000, 'three steps passed on both hosts')
    // Where the hosts disagreed (one had heard of a step before the other), not for long.
    let since: number | undefined
    for (const s of samples) {
      if (s.a.step === s.b.step) {
        assert.deepStrictEqual(s.a.effective_weights, s.b.effective_weights)
        assert.equal(s.a.share_percent, s.b.share_percent)
        since = undefined
      } else {
        since ??= s.at
        assert.ok(s.at - since < 1000, `hosts disagreed for ${s.at - since} ms: a at step ${s.a.step}, b at ${s.b.step}`)
      }
    }
    await eventually(async () => {
      const [ra, rb] = await Promise.all([rollout(a().admin), rollout(b().admin)])
      return ra.step === rb.step && JSON.stringify(ra.decisions) === JSON.stringify(rb.decisions)
    }, undefined, 'the same step and decisions on both')
    const r = await rollout(a().admin)
    const passed = r.decisions.filter((d) => d.event === 'step passed').map((d) => d.share_percent)
    assert.deepStrictEqual(passed, STEPS.slice(1, r.step + 1), 'each step passed once, none skipped')
    assert.deepStrictEqual(r.decisions.filter((d) => d.event === 'started').length, 1)
    assert.match(r.shared!.key, new RegExp(`${PREFIX}\\.state/rollouts/main/chat$`))
    assert.ok(stable.count('sk-host-0') > 0 && stable.count('sk-host-1') > 0, 'both hosts carry traffic')
  })

  test('a killed host restarts on the current step with the step clock, not on the first step', async () => {
    down.from = Date.now()
    b().child.kill('SIGKILL')
    await b().exited
    const atKill = (await rollout(a().admin)).step
    await eventually(async () => (await rollout(a().admin)).step > atKill, 10_000, 'host a to pass a step alone')
    hosts[1] = await start(1)
    down.to = Date.now()
    const [rb, ra] = [await rollout(b().admin), await rollout(a().admin)]
    assert.ok(rb.step > atKill, `restarted at step ${rb.step}, killed at ${atKill}`)
    assert.ok(ra.step - rb.step <= 1 && ra.step >= rb.step, `a at ${ra.step}, b at ${rb.step}`)
    assert.equal(rb.state, 'running')
    assert.equal(rb.shared!.run, 1)
    assert.ok(rb.step_elapsed_ms !== null && rb.step_elapsed_ms >= 0 && rb.step_elapsed_ms < STEP_MS * 10, `held ${rb.step_elapsed_ms} ms`)
    if (ra.step === rb.step) assert.ok(Math.abs(ra.step_elapsed_ms! - rb.step_elapsed_ms!) < 500, `one clock: a held ${ra.step_elapsed_ms}, b ${rb.step_elapsed_ms}`)
    assert.match(b().output(), /rollout state adopted from the store rollout=main\/chat/)
    assert.doesNotMatch(b().output(), /rollout started/)
    // It follows what happens next (a step passed by either host) like any other host.
    const known = (await rollout(a().admin)).decisions.length
    await eventually(async () => {
      const [ra2, rb2] = await Promise.all([rollout(a().admin), rollout(b().admin)])
      return rb2.decisions.length > known && JSON.stringify(ra2.decisions) === JSON.stringify(rb2.decisions) && ra2.step === rb2.step
    }, 10_000, 'the restarted host to follow the next decision')
  })

  test('switchyard rollout abort on host a stops the candidate on host b within a second', async () => {
    const cli = await runCli(['rollout', 'abort', '--admin', a().admin])
    assert.equal(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /aborted at 0%/)
    const decided = Date.parse((await rollout(a().admin)).decisions.at(-1)!.at)
    let seen = 0
    await eventually(async () => {
      const rb = await rollout(b().admin)
      seen = Date.now()
      return rb.state === 'aborted' && rb.share_percent === 0
    }, undefined, 'host b to abort')
    assert.ok(seen - decided < 1000, `host b aborted ${seen - decided} ms after host a decided`)
    const rb = await rollout(b().admin)
    assert.deepStrictEqual(rb.effective_weights, { stable: 100, candidate: 0 })
    assert.equal(rb.decisions.at(-1)!.host, hostOf(a()))
    // Nothing more reaches the candidate through either host (requests already sent aside).
    await new Promise((r) => setTimeout(r, 300))
    const from = Date.now()
    await new Promise((r) => setTimeout(r, 700))
    assert.deepStrictEqual([candidate.count('sk-host-0', from), candidate.count('sk-host-1', from)], [0, 0])
    assert.ok(stable.count('sk-host-1', from) > 0, 'host b still serves')
  })

  test('switchyard rollout resume on host b starts a new run from the first step on both', async () => {
    const cli = await runCli(['rollout', 'resume', '--admin', b().admin])
    assert.equal(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /running at 10%/)
    await eventually(async () => {
      const ra = await rollout(a().admin)
      return ra.state === 'running' && ra.shared!.run === 2
    }, undefined, 'host a to resume')
    const ra = await rollout(a().admin)
    assert.ok(ra.step <= 1, `run 2 at step ${ra.step}`)
  })

  test('a config change that leaves the rule alone keeps the run; one that changes it starts a new run on both', async () => {
    const before = await rollout(a().admin)
    const kept = await push(config({ steps: STEPS, stepMs: STEP_MS, candidateTimeout: '30s' }))
    await eventually(async () => (await versions()).every((v) => v === kept), undefined, 'both hosts on the cluster change')
    for (const h of hosts) {
      const r = await rollout(h.admin)
      assert.equal(r.shared!.run, before.shared!.run)
      assert.ok(r.step >= before.step || r.state !== 'running', `step ${r.step} after ${before.step}`)
    }
    // Long steps from here: the breach below must be seen before the run could complete.
    const changed = await push(config({ steps: [10, 100], stepMs: 5000 }))
    await eventually(async () => (await versions()).every((v) => v === changed), undefined, 'both hosts on the rule change')
    await eventually(async () => {
      const [ra, rb] = await Promise.all([rollout(a().admin), rollout(b().admin)])
      return ra.shared!.run === before.shared!.run + 1 && rb.shared!.run === ra.shared!.run && ra.state === 'running' && rb.state === 'running'
    }, undefined, 'a new run on both hosts')
    const [ra, rb] = await Promise.all([rollout(a().admin), rollout(b().admin)])
    assert.deepStrictEqual([ra.step, rb.step, ra.share_percent, rb.share_percent], [0, 0, 10, 10])
    assert.deepStrictEqual(ra.decisions, rb.decisions)
    assert.deepStrictEqual(ra.decisions.map((d) => [d.event, d.reason]), [['started', 'the rule changed, so its rollout starts again']])
  })

  test('a candidate failing only for host a\'s requests is rolled back on both hosts', async () => {
    const from = Date.now()
    candidate.breakFor('sk-host-0')
    try {
      await eventually(async () => (await rollout(a().admin)).state === 'rolled_back', 15_000, 'host a to roll back')
    } catch (e) {
      const r = await rollout(a().admin)
      assert.fail(`${(e as Error).message} (broken since ${new Date(from).toISOString()}; candidate requests since: a ${candidate.count('sk-host-0', from)}, b ${candidate.count('sk-host-1', from)}; failed ${t.outcomes.filter((o) => o.at >= from && o.status !== 200).length}): ${r.state} ${JSON.stringify(r.decisions.map((d) => [d.at, d.event, d.share_percent, d.host, d.candidate?.requests, d.candidate?.errors]))}`)
    }
    const ra = await rollout(a().admin)
    const back = ra.decisions.at(-1)!
    assert.equal(back.event, 'rolled back')
    assert.equal(back.host, hostOf(a()))
    assert.match(back.reason!, /^error rate \d+(\.\d+)?% \(\d+\/\d+\) > max 20%$/)
    assert.ok(back.candidate!.errors > 0)
    await eventually(async () => {
      const rb = await rollout(b().admin)
      return rb.state === 'rolled_back' && rb.share_percent === 0
    }, undefined, 'host b to roll back')
    assert.ok(Date.now() - Date.parse(back.at) < 2000)
    const rb = await rollout(b().admin)
    assert.deepStrictEqual(rb.decisions.at(-1), back)
    assert.match(a().output(), /warn \[main\] rollout rolled back rollout=main\/chat .*reason="error rate/)
    assert.match(b().output(), /rollout rolled back by another host rollout=main\/chat host=/)
    // The only failed requests are the candidate's own 500s (through host a).
    const failed = t.outcomes.filter((o) => o.at >= from && o.status !== 200)
    assert.ok(failed.length > 0)
    assert.deepStrictEqual(failed.filter((o) => !(o.status === 500 && o.cluster === 'candidate')), [])
    const cut = (o: Outcome) => o.status === 0 && o.at >= down.from && o.at <= down.to + 100
    assert.deepStrictEqual(t.outcomes.filter((o) => o.at < from && o.status !== 200 && !cut(o)), [], 'nothing failed before the candidate broke but what the kill cut')
  })
})
