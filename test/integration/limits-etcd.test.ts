/**
 * Limits pushed through etcd to two gateway hosts sharing one global (Redis) tenant limit: a push
 * that raises the limit and revokes a key is live on both within a second, and the bucket keeps
 * what both hosts had already consumed.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { Agent, fetch as undiciFetch } from 'undici'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { keyFor, limitsConfig, openaiClient, type LimitsDoc } from '../support/limits-rig.js'
import { runCli, startEtcd, startEtcdGateway, type EtcdGateway, type EtcdServer } from '../support/etcd-server.js'
import { eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let redis: RedisServer
let up: Upstream
let etcd: EtcdServer
const gateways: EtcdGateway[] = []
const PREFIX = '/switchyard/limits-etcd/'
const dir = mkdtempSync(join(tmpdir(), 'switchyard-limits-etcd-'))

before(async () => {
  ;[redis, up, etcd] = await Promise.all([startRedis(), startOpenAIUpstream('up'), startEtcd()])
})
after(async () => {
  const codes = await Promise.all(gateways.map((g) => g.stop()))
  await Promise.all([up?.close(), redis?.close(), etcd?.close()])
  codes.forEach((c, i) => assert.equal(c, 0, gateways[i].output()))
})

const ask = (c: OpenAI) => c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse()

test('a pushed limit change and key revocation are live on both hosts within 1 s; the shared bucket keeps its level', async () => {
  const acme = keyFor('acme', 'acme-key')
  const other = keyFor('other', 'other-key')
  const [port, admin1, admin2] = [await freePort(), await freePort(), await freePort()]
  const doc = (perMinute: number, revoked: boolean): LimitsDoc => ({
    upstream: up.url,
    redis: { url: redis.url, command_timeout: '2s' },
    rateLimit: { scope: 'global', failure_mode: 'closed' },
    tenants: [{ name: 'acme', limits: { requests_per_minute: perMinute } }, { name: 'other' }],
    keys: [acme.record, revoked ? { ...other.record, disabled: true } : other.record],
  })
  const push = async (name: string, d: LimitsDoc) => {
    const file = join(dir, name)
    writeFileSync(file, limitsConfig(admin1, port, d))
    const r = await runCli(['config', 'push', file, '--etcd', etcd.url, '--prefix', PREFIX])
    assert.equal(r.code, 0, r.stderr)
  }
  await push('v1.json', doc(10, false))
  gateways.push(await startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1'], { adminPort: admin1 }))
  gateways.push(await startEtcdGateway(['--etcd', etcd.url, '--prefix', PREFIX, '--workers', '1', '--admin-port', String(admin2)], { adminPort: admin2 }))
  // A fresh connection per call, so both hosts (SO_REUSEPORT on one port) take part.
  const fresh = (key: string) => openaiClient(port, key, {
    fetch: (async (u: string, init: RequestInit) => {
      const agent = new Agent()
      try {
        const r = await undiciFetch(u, { ...(init as object), dispatcher: agent } as never)
        return new Response(await r.arrayBuffer(), { status: r.status, headers: r.headers as never })
      } finally {
        void agent.close()
      }
    }) as never,
  })
  let last
  for (let i = 0; i < 6; i++) last = await ask(fresh(acme.key))
  assert.equal(last!.response.headers.get('x-ratelimit-remaining-requests'), '4', 'both hosts count in one bucket')
  await ask(fresh(other.key))

  await push('v2.json', doc(20, true))
  // The write is the push command's last act: time from its exit.
  const written = Date.now()
  for (const admin of [admin1, admin2]) {
    await eventually(async () => {
      const t = (await (await fetch(`http://127.0.0.1:${admin}/tenants/acme`)).json()) as any
      return t.limits?.requests_per_minute === 20
    }, undefined, `host on ${admin} serving the push`)
  }
  const liveAfter = Date.now() - written
  assert.ok(liveAfter < 1000, `push live on both hosts after ${liveAfter} ms`)
  let refused = 0
  for (let i = 0; i < 6; i++) if (await ask(fresh(other.key)).then(() => false, (e) => e instanceof OpenAI.AuthenticationError)) refused++
  assert.equal(refused, 6, 'the revoked key is refused by both hosts')
  const { response } = await ask(fresh(acme.key))
  assert.equal(response.headers.get('x-ratelimit-limit-requests'), '20')
  const remaining = Number(response.headers.get('x-ratelimit-remaining-requests'))
  assert.ok(remaining >= 13 && remaining <= 14, `remaining ${remaining}: 7 of 20 consumed, kept across the push`)
})
