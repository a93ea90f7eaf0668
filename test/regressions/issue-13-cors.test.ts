/**
 * Issue 13, CORS: browser apps call gateways directly, and an `OPTIONS` preflight used to be
 * routed to the provider (or answered 404 when no rule took OPTIONS). A `cors` filter on the
 * listener answers preflights itself and grants allowed origins on every response.
 *
 * A real browser (Debian's chromium through playwright-core) on a page served from another port
 * calls the gateway with fetch(), a JSON body and an authorization header — the case that needs
 * a preflight: the allowed origin gets the answer, the other one fails in the browser and its
 * request never leaves it. Raw HTTP checks the header details.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { chromium, type Browser } from 'playwright-core'
import { startGateway } from '../support/gateway-process.js'
import { startOpenAIUpstream } from '../support/openai-upstream.js'
import { freePort } from '../support/ports.js'
import { startHttpServer, type LocalHttpServer } from '../support/http-server.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

async function pageServer(t: { after(fn: () => unknown): void }): Promise<LocalHttpServer> {
  const page = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><p>app</p>'))
  t.after(() => page.close())
  return page
}

interface Raw { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const corsHeaders = (r: Raw) => Object.fromEntries(Object.entries(r.headers).filter(([n]) => n.startsWith('access-control-') || n === 'vary'))

test('a cors filter answers preflights and lets an allowed page, and only that page, read the answer', async (t) => {
  const allowed = await pageServer(t)
  const other = await pageServer(t)
  const upstream = await startOpenAIUpstream('up')
  t.after(() => upstream.close())
  const port = await freePort()
  const gw = await startGateway((adminPort) => `
admin: { port: ${adminPort} }
listeners:
  - { name: public, address: 127.0.0.1, port: ${port}, route_table: main, filters: [browser-apps] }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions }, methods: [POST] }
        cluster: up
clusters:
  - { name: up, provider: openai, endpoints: [{ url: "${upstream.url}" }] }
filters:
  - name: browser-apps
    type: cors
    config: { allow_origins: ["${allowed.origin}"], max_age: 5m }
`)
  t.after(() => gw.stop())
  const base = `http://127.0.0.1:${port}`

  await t.test('raw HTTP: the preflight matches no rule and is answered 204 by the gateway', async () => {
    const r = await raw(`${base}/v1/chat/completions`, 'OPTIONS', { origin: allowed.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' })
    assert.equal(r.status, 204)
    assert.deepStrictEqual(corsHeaders(r), {
      'access-control-allow-origin': allowed.origin,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '300',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    })
  })

  await t.test('raw HTTP: a preflight from another origin is a 403 without CORS headers', async () => {
    const r = await raw(`${base}/v1/chat/completions`, 'OPTIONS', { origin: other.origin, 'access-control-request-method': 'POST' })
    assert.equal(r.status, 403)
    assert.deepStrictEqual(Object.keys(corsHeaders(r)).filter((n) => n !== 'vary'), [])
  })

  await t.test('raw HTTP: the answer and the gateway’s own errors carry the grant', async () => {
    const ok = await raw(`${base}/v1/chat/completions`, 'POST', { origin: allowed.origin, 'content-type': 'application/json' }, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }))
    assert.equal(ok.status, 200)
    assert.deepStrictEqual(corsHeaders(ok), { 'access-control-allow-origin': allowed.origin, 'access-control-expose-headers': 'retry-after, x-request-id, request-id, x-switchyard-cluster, x-switchyard-endpoint', vary: 'Origin' })
    const missing = await raw(`${base}/v1/nowhere`, 'GET', { origin: allowed.origin })
    assert.equal(missing.status, 404)
    assert.equal(missing.headers['access-control-allow-origin'], allowed.origin)
  })

  await t.test('no preflight reached the provider', () => {
    assert.deepStrictEqual(upstream.requests.filter((r) => r.method === 'OPTIONS'), [])
  })

  await t.test('in a browser, the allowed page reads the answer and the other page is refused', async () => {
    let browser: Browser
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS })
    } catch (e) {
      assert.fail(`chromium did not start (apt-get install chromium): ${(e as Error).message}`)
    }
    t.after(() => browser.close())
    const callGateway = async (pageOrigin: string) => {
      const page = await browser.newPage()
      await page.goto(pageOrigin)
      return page.evaluate(async (url) => {
        try {
          const r = await fetch(url, {
            method: 'POST',
            headers: { authorization: 'Bearer sk-from-the-page', 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
          })
          return { ok: true, status: r.status, object: (await r.json()).object }
        } catch (e) {
          return { ok: false, error: String(e) }
        }
      }, `${base}/v1/chat/completions`)
    }
    const before = upstream.requests.length
    assert.deepStrictEqual(await callGateway(allowed.origin), { ok: true, status: 200, object: 'chat.completion' })
    assert.deepStrictEqual(await callGateway(other.origin), { ok: false, error: 'TypeError: Failed to fetch' })
    const reached = upstream.requests.slice(before)
    assert.deepStrictEqual(reached.map((r) => [r.method, r.url, r.headers.origin]), [['POST', '/v1/chat/completions', allowed.origin]], 'the refused page’s request never left the browser')
  })
})
