/**
 * Issue 10, item 8: a configured header regex with catastrophic backtracking (`(a+)+$`) against a
 * client-chosen header value (30 `a` + `!`) blocked a worker for ~15 s, doubling per character.
 * Route regexes now run on a linear-time engine, so the request is answered at once and the
 * worker keeps serving other connections.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

let gw: GatewayProcess
let base: string

before(async () => {
  const port = await freePort()
  gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules:
      - name: evil
        match: { headers: [{ name: x-tenant, regex: "(a+)+$" }] }
        cluster: evil
      - name: default
        cluster: default
clusters:
  - { name: evil, provider: mock, mock: { reply: from-evil } }
  - { name: default, provider: mock, mock: { reply: from-default } }
`, { workers: 1 })
  base = `http://127.0.0.1:${port}/v1`
})

after(async () => {
  const code = await gw?.stop()
  assert.equal(code, 0, `gateway exit code; output:\n${gw?.output()}`)
})

// Before the fix one such match took seconds (15 s at 30 characters); 5 s leaves room for a slow box.
const client = (tenant: string) => new OpenAI({ baseURL: base, apiKey: 'sk-client', maxRetries: 0, timeout: 5_000, defaultHeaders: { 'x-tenant': tenant } })

async function reply(tenant: string): Promise<string | null> {
  const r = await client(tenant).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
  return r.choices[0].message.content
}

test('the header regex rule still matches what it should', async () => {
  assert.equal(await reply('aaaa'), 'from-evil')
  assert.equal(await reply('b'), 'from-default')
})

test('a backtracking-bomb header value is answered promptly, and another connection is served meanwhile', async () => {
  const bomb = 'a'.repeat(30) + '!'
  const [evil, other] = await Promise.all([reply(bomb), reply('tenant-b')])
  assert.equal(evil, 'from-default')
  assert.equal(other, 'from-default')
})
