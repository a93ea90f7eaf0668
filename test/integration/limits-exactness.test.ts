/**
 * Exactness under load: one tenant request limit and one tenant token limit, shared by every
 * gateway, hammered for 10 s by concurrent official-SDK clients with a mix of JSON and streamed
 * requests. Whatever the number of processes and worker threads, what reaches the provider stays
 * within the token-bucket bound of docs/limits.md (limit + limit·D/period over the run's duration
 * D): requests exactly, tokens (counted from the provider's reported usage, streams included)
 * within 1%.
 *   global: 4 gateway processes × --workers 2 on one redis-server (`scope: global`)
 *   local:  1 gateway process × --workers 2 (`scope: local`, the shared-memory table)
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { bucketBound, chatOnce, hammer, keyFor, openaiClient, startLimitsGateway, type LimitsDoc, type LimitsGateway, type Outcome } from '../support/limits-rig.js'

const LOAD_MS = 10_000
const REQUESTS_PER_SECOND = 10
const TOKENS_PER_SECOND = 300
const MAX_TOKENS = 40
const CLIENTS_PER_TENANT = 8

let redis: RedisServer
let up: Upstream
const gateways: LimitsGateway[] = []

before(async () => {
  redis = await startRedis()
  // 25 prompt tokens (about the gateway's estimate of these bodies) and 5–40 completion tokens:
  // reconcile gives most of each reservation's output part back.
  up = await startOpenAIUpstream('up', { usage: (b) => ({ prompt_tokens: 25, completion_tokens: 5 + Math.floor(Math.random() * (MAX_TOKENS - 4)) }) })
})

after(async () => {
  const codes = await Promise.all(gateways.map((g) => g.gw.stop()))
  await up?.close()
  await redis?.close()
  codes.forEach((code, i) => assert.equal(code, 0, `gateway ${i} exit code; output:\n${gateways[i].gw.output()}`))
})

interface Run {
  readonly durationMs: number
  readonly requests: { admitted: number; streamed: number; refused: number; bound: number; perGateway: number[] }
  readonly tokens: { admitted: number; streamed: number; requests: number; refused: number; bound: number; perGateway: number[] }
  readonly others: Outcome[]
}

/** Hammers the two tenants through `targets` for LOAD_MS and counts what the upstream saw. */
async function run(targets: readonly LimitsGateway[], tag: string, keys: { rq: string; tk: string }): Promise<Run> {
  const rqModel = `rq-${tag}`
  const tkModel = `tk-${tag}`
  const byGateway = { rq: targets.map(() => 0), tk: targets.map(() => 0) }
  const clients = targets.flatMap((t, gi) => [{ gi, c: openaiClient(t.port, keys.rq) }, { gi, c: openaiClient(t.port, keys.tk) }])
  const clientFor = (tenant: 'rq' | 'tk', i: number, n: number) => {
    const gi = (i + n) % targets.length
    return { gi, c: clients[gi * 2 + (tenant === 'rq' ? 0 : 1)].c }
  }
  const started = Date.now()
  const until = started + LOAD_MS
  const call = (tenant: 'rq' | 'tk') => async (i: number, n: number) => {
    const { gi, c } = clientFor(tenant, i, n)
    const status = await chatOnce(c, tenant === 'rq' ? rqModel : tkModel, { stream: (i + n) % 2 === 1, maxTokens: MAX_TOKENS })
    if (status === 200) byGateway[tenant][gi]++
    return status
  }
  const [rq, tk] = await Promise.all([hammer(CLIENTS_PER_TENANT, until, call('rq'), 30), hammer(CLIENTS_PER_TENANT, until, call('tk'), 30)])
  const durationMs = Math.max(...[...rq, ...tk].map((o) => o.startedAt + o.ms)) - started
  const seen = (model: string) => up.requests.filter((r) => r.body?.model === model)
  const rqSeen = seen(rqModel)
  const tkSeen = seen(tkModel)
  const missing = tkSeen.filter((r) => r.usage === undefined)
  assert.equal(missing.length, 0, `every answer reported usage (streams: include_usage); ${missing.length} did not`)
  const count = (os: Outcome[], s: number) => os.filter((o) => o.status === s).length
  assert.equal(rqSeen.length, count(rq, 200), 'every admitted request answered 200 and every 200 reached the provider')
  assert.equal(tkSeen.length, count(tk, 200))
  return {
    durationMs,
    requests: { admitted: rqSeen.length, streamed: rqSeen.filter((r) => r.body?.stream === true).length, refused: count(rq, 429), bound: bucketBound(REQUESTS_PER_SECOND, 1000, durationMs), perGateway: byGateway.rq },
    tokens: {
      admitted: tkSeen.reduce((s, r) => s + r.usage!.prompt_tokens + r.usage!.completion_tokens, 0),
      streamed: tkSeen.filter((r) => r.body?.stream === true).reduce((s, r) => s + r.usage!.prompt_tokens + r.usage!.completion_tokens, 0),
      requests: tkSeen.length,
      refused: count(tk, 429),
      bound: bucketBound(TOKENS_PER_SECOND, 1000, durationMs),
      perGateway: byGateway.tk,
    },
    others: [...rq, ...tk].filter((o) => o.status !== 200 && o.status !== 429),
  }
}

function check(r: Run, what: string): void {
  const line = `${what}: D ${r.durationMs} ms; requests ${r.requests.admitted} admitted (${r.requests.streamed} streamed, ${r.requests.refused} refused, per gateway ${r.requests.perGateway}) / bound ${r.requests.bound.toFixed(1)}; ` +
    `tokens ${r.tokens.admitted} admitted in ${r.tokens.requests} requests (${r.tokens.streamed} streamed, ${r.tokens.refused} refused, per gateway ${r.tokens.perGateway}) / bound ${r.tokens.bound.toFixed(0)} (×1.01 = ${(r.tokens.bound * 1.01).toFixed(0)})`
  console.log(line)
  assert.deepEqual(r.others, [], 'only 200s and 429s')
  assert.ok(r.requests.admitted <= r.requests.bound, line)
  assert.ok(r.tokens.admitted <= r.tokens.bound * 1.01, line)
  // The load reached the limits (else the bounds above prove nothing) and kept them busy. Loose
  // on purpose: on an idle machine about 99% of each bound is admitted and most calls refused, but
  // a loaded 2-core CI machine offers less.
  assert.ok(r.requests.refused >= 5 && r.tokens.refused >= 5, line)
  assert.ok(r.requests.admitted >= 0.5 * r.requests.bound, line)
  assert.ok(r.tokens.admitted >= 0.5 * r.tokens.bound, line)
  assert.ok(r.requests.streamed > 0 && r.tokens.streamed > 0, 'streams were admitted too')
}

function doc(scope: 'local' | 'global', tag: string, keys: { rq: ReturnType<typeof keyFor>; tk: ReturnType<typeof keyFor> }): LimitsDoc {
  return {
    upstream: up.url,
    ...(scope === 'global' && { redis: { url: redis.url, command_timeout: '2s', key_prefix: `ex${process.pid}:` } }),
    rateLimit: { scope, failure_mode: 'closed', default_max_output_tokens: MAX_TOKENS },
    tenants: [
      { name: `rq-${tag}`, limits: { requests_per_second: REQUESTS_PER_SECOND } },
      { name: `tk-${tag}`, limits: { tokens_per_second: TOKENS_PER_SECOND } },
    ],
    keys: [keys.rq.record, keys.tk.record],
  }
}

describe('exactness', () => {
  test('scope: global, 4 gateway processes × 2 workers: admitted requests and tokens within the bucket bound', async () => {
    const keys = { rq: keyFor('rq-g', 'rq-g-key'), tk: keyFor('tk-g', 'tk-g-key') }
    const gs = await Promise.all([0, 1, 2, 3].map(() => startLimitsGateway(doc('global', 'g', keys), { workers: 2 })))
    gateways.push(...gs)
    const r = await run(gs, 'g', { rq: keys.rq.key, tk: keys.tk.key })
    check(r, 'global 4×2')
    assert.ok(r.requests.perGateway.every((n) => n > 0), 'every gateway admitted some: the limit was shared, not split')
  })

  test('scope: local, one process × 2 workers: admitted requests and tokens within the bucket bound', async () => {
    const keys = { rq: keyFor('rq-l', 'rq-l-key'), tk: keyFor('tk-l', 'tk-l-key') }
    const g = await startLimitsGateway(doc('local', 'l', keys), { workers: 2 })
    gateways.push(g)
    check(await run([g], 'l', { rq: keys.rq.key, tk: keys.tk.key }), 'local 1×2')
  })
})
