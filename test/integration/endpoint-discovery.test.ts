/**
 * Endpoint self-registration through a real etcd, with a real gateway process and the official
 * openai client: three replicas register with `switchyard endpoints register`, one dies (its
 * registrar is killed, so its lease expires) and traffic moves with zero client failures; a new
 * replica registers with etcd's plain HTTP API (what a start script would do) and gets traffic
 * within a second; a bad registration is logged at key:line:col and never takes the rest down.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import OpenAI from 'openai'
import { startOpenAIUpstream, type Upstream } from '../support/openai-upstream.js'
import { BIN, eventually, startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { startEtcd, type EtcdServer } from '../support/etcd-server.js'

const ROOT = '/switchyard/endpoints/'
let etcd: EtcdServer
let gw: GatewayProcess
let port: number
const replicas: Upstream[] = []
const registrars = new Map<string, ChildProcess>()

function register(name: string, url: string, ttl = '2s'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'endpoints', 'register', '--cluster', 'fleet', '--url', url, '--name', name, '--ttl', ttl, '--etcd', etcd.url], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  registrars.set(name, child)
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`registrar ${name} did not register:\n${out}`)), 10_000)
    child.stdout!.on('data', () => {
      if (out.includes('registered ')) {
        clearTimeout(t)
        resolve(child)
      }
    })
    child.once('exit', (code) => reject(new Error(`registrar ${name} exited ${code}:\n${out}`)))
  })
}

async function clusterEndpoints(): Promise<string[]> {
  const r = (await (await fetch(`${gw.admin}/clusters`)).json()) as Record<string, { endpoints: { url: string }[] }>
  return r.fleet.endpoints.map((e) => e.url).sort()
}

before(async () => {
  etcd = await startEtcd()
  for (const n of ['r1', 'r2', 'r3', 'r4']) replicas.push(await startOpenAIUpstream(n))
  await Promise.all(replicas.slice(0, 3).map((r, i) => register(`r${i + 1}`, r.url)))
  port = await freePort()
  gw = await startGateway((adminPort) => `
admin: { port: ${adminPort} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - match: { path: { prefix: /v1/ } }
        cluster: fleet
        retry_policy: { retry_on: [connect_failure, reset, 5xx], num_retries: 2 }
clusters:
  - name: fleet
    provider: openai
    # Four callers may all be retrying off the dead replica at once; eject it after 3 refusals.
    circuit_breakers: { max_retries: 16 }
    outlier_detection: { consecutive_5xx: 3 }
    discovery: { etcd: { endpoints: ["${etcd.url}"], prefix: ${ROOT} } }
`)
})

after(async () => {
  for (const c of registrars.values()) if (c.exitCode === null) c.kill('SIGKILL')
  await gw?.stop()
  for (const r of replicas) await r.close().catch(() => {})
  await etcd?.close()
})

test('three registered replicas serve; one dies and traffic moves with zero client failures; a new one gets traffic within a second', async () => {
  assert.deepStrictEqual(await clusterEndpoints(), replicas.slice(0, 3).map((r) => r.url).sort())
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-test', maxRetries: 0 })
  let failures = 0
  let ok = 0
  const errors: string[] = []
  let running = true
  const loop = async () => {
    while (running) {
      try {
        const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
        assert.ok(r.choices[0].message.content)
        ok++
      } catch (e) {
        failures++
        errors.push(String(e))
      }
    }
  }
  const loops = [loop(), loop(), loop(), loop()]
  try {
    await eventually(() => replicas.slice(0, 3).every((r) => r.requests.length > 5), undefined, 'every registered replica gets traffic')

    // r2 dies: its model server and its registrar. Its lease (2 s) expires; retries cover the gap.
    registrars.get('r2')!.kill('SIGKILL')
    await replicas[1].close()
    await eventually(async () => !(await clusterEndpoints()).includes(replicas[1].url), undefined, 'r2 leaves the cluster when its lease expires')
    const r2Requests = replicas[1].requests.length
    const before = replicas[0].requests.length + replicas[2].requests.length
    await eventually(() => replicas[0].requests.length + replicas[2].requests.length > before, undefined, 'r1 and r3 to take the traffic')
    // An absence (nothing more reaches r2): a fixed wait on top.
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(replicas[1].requests.length, r2Requests)

    // r4 registers with etcd's JSON API, as a start script would with curl.
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    const lease = (await (await fetch(`${etcd.url}/v3/lease/grant`, { method: 'POST', body: JSON.stringify({ TTL: 10 }) })).json()) as { ID: string }
    const putAt = Date.now()
    const put = await fetch(`${etcd.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(`${ROOT}fleet/r4`), value: b64(JSON.stringify({ url: replicas[3].url })), lease: lease.ID }) })
    assert.equal(put.status, 200)
    await eventually(() => replicas[3].requests.length > 0, 1000, 'r4 gets traffic within a second of registering')
    const joinedMs = Date.now() - putAt
    console.log(`r4 served its first request ${joinedMs} ms after its registration`)
  } finally {
    running = false
    await Promise.all(loops)
  }
  assert.equal(failures, 0, `client failures: ${errors.slice(0, 3).join('; ')}`)
  assert.ok(ok > 50, `only ${ok} requests completed`)
})

test('a bad registration is logged at key:line:col and ignored; the good endpoints keep serving', async () => {
  const before = await clusterEndpoints()
  await etcd.client.put(`${ROOT}fleet/bad`).value('{"url": "ftp://10.0.0.9/v1"}')
  await etcd.client.put(`${ROOT}fleet/creds`).value('url: http://10.0.0.9/v1\napi_key: ${env:HOME}\n')
  await eventually(() => gw.output().includes(`${ROOT}fleet/creds:2:1: api_key: a registration cannot carry credentials`), undefined, 'the rejection in the log')
  assert.match(gw.output(), new RegExp(`${ROOT}fleet/bad:1:9: url: must be an http\\(s\\) URL`))
  assert.deepStrictEqual(await clusterEndpoints(), before)
  // A good key turned bad keeps its last good value.
  await etcd.client.put(`${ROOT}fleet/r4`).value('{"url": 42}')
  await eventually(() => gw.output().includes('its last good value'), undefined, 'the last-good notice')
  assert.deepStrictEqual(await clusterEndpoints(), before)
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-test', maxRetries: 0 })
  const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
  assert.ok(r.choices[0].message.content)
  assert.equal(gw.child.exitCode, null)
})

test('a stopped registrar revokes its lease: the endpoint leaves at once', async () => {
  const r1 = registrars.get('r1')!
  const exited = new Promise((r) => r1.once('exit', r))
  r1.kill('SIGTERM')
  await exited
  await eventually(async () => !(await clusterEndpoints()).includes(replicas[0].url), 1000, 'r1 leaves within a second')
})
