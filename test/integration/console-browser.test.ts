/**
 * Issue 19, the admin console in a real browser (Debian's chromium through playwright-core): what a
 * person sees once signed in with the admin token, while a real gateway serves traffic from the
 * openai SDK — an endpoint turns unhealthy when its upstream process is killed, the experiment and
 * the tenant's usage are listed with their numbers, a broken config pasted into the validator
 * shows the same located errors as `switchyard validate`, a reload changes the version and shows
 * its diff, and no secret is on the page. With SWITCHYARD_WRITE_DOCS=1 it saves the screenshots
 * the README and docs/console.md show (docs/img/console-*.png).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { chromium, type Browser, type Page } from 'playwright-core'
import { generateApiKey, hashApiKey } from '../../src/shared/api-key-format.js'
import { startGateway, type GatewayProcess } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { repoRoot } from '../support/repo-root.js'
import { runCli } from '../support/run-cli.js'
import { spawnUpstream, type UpstreamProcess } from '../support/upstream-process.js'

const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium'
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const WRITE_DOCS = process.env.SWITCHYARD_WRITE_DOCS === '1'
const IMG = join(repoRoot, 'docs', 'img')

// Secrets the page must never show: the admin token (typed once, then only in sessionStorage),
// a literal upstream key, an upstream key from the environment, and a caller's API key.
const TOKEN = 'console-browser-admin-token-91f0c2'
const LITERAL_KEY = 'sk-literal-upstream-secret-5b2e77'
const ENV_KEY = 'sk-env-upstream-secret-c81d04'
const caller = generateApiKey('acme-app')

let a: UpstreamProcess
let b: UpstreamProcess
let gw: GatewayProcess
let browser: Browser
let page: Page
let port: number
const pageErrors: string[] = []

function configText(admin: number, weights: [number, number]): string {
  return `
admin: { port: ${admin}, token: ${TOKEN} }
listeners:
  - { name: public, address: 127.0.0.1, port: ${port}, route_table: main, filters: [keys, limits, cache] }
routes:
  - name: main
    rules:
      - name: chat-ab
        match: { path: { exact: /v1/chat/completions } }
        weighted_clusters:
          clusters:
            - { name: fleet, weight: ${weights[0]} }
            - { name: canary, weight: ${weights[1]} }
clusters:
  - name: fleet
    provider: openai
    endpoints:
      - { url: "${a.url}", api_key: ${LITERAL_KEY} }
      - { url: "${b.url}", api_key: "\${env:CONSOLE_UPSTREAM_KEY}" }
    health_check: { interval: 200ms, jitter: 20ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 2, path: /health }
    retry_policy: { retry_on: [connect_failure, reset], num_retries: 2 }
    outlier_detection: { consecutive_5xx: 5 }
    endpoint_circuit_breaker: { consecutive_failures: 5 }
  - name: canary
    provider: mock
    mock: { reply: "Hello from the canary.", latency: 5ms }
filters:
  - { name: keys, type: api_key, config: {} }
  - name: limits
    type: rate_limit
    config:
      scope: local
      limits:
        - { name: pro, descriptor: [tenant], tenant_labels: { tier: pro }, requests_per_second: 50, tokens_per_minute: 100000 }
  - { name: cache, type: cache, config: {} }
tenants:
  - { name: acme, labels: { tier: pro } }
keys:
  - { id: ${caller.id}, tenant: acme, hash: "${hashApiKey(caller.key)}" }
`
}

async function adminJson(path: string): Promise<any> {
  const r = await fetch(`${gw.admin}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(r.status, 200, path)
  return r.json()
}

/** Waits until the element's visible text matches, and returns it (a failure shows what it said). */
async function seen(selector: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let text = ''
  while (Date.now() < deadline) {
    const el = page.locator(selector).first()
    // Only what is on screen counts: a section filled while still hidden has no layout (innerText is then its bare text).
    text = (await el.isVisible().catch(() => false)) ? await el.innerText().catch(() => '') : ''
    if (pattern.test(text)) return text
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.fail(`${selector} never showed ${pattern} within ${timeoutMs} ms; it showed:\n${text}`)
}

/** One section, or (without `selector`) the top of the page as the window shows it. */
async function screenshot(name: string, selector?: string): Promise<void> {
  if (!WRITE_DOCS) return
  mkdirSync(IMG, { recursive: true })
  const path = join(IMG, `console-${name}.png`)
  if (selector) await page.locator(selector).screenshot({ path })
  else await page.screenshot({ path })
}

before(async () => {
  ;[a, b] = await Promise.all([spawnUpstream('A'), spawnUpstream('B')])
  port = await freePort()
  gw = await startGateway((admin) => configText(admin, [80, 20]), { workers: 2, env: { CONSOLE_UPSTREAM_KEY: ENV_KEY } })
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS })
  } catch (e) {
    assert.fail(`chromium did not start (apt-get install chromium, or set SWITCHYARD_CHROMIUM): ${(e as Error).message}`)
  }
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(m.text()) })
})

after(async () => {
  await browser?.close()
  await gw?.stop()
  await Promise.all([a?.kill(), b?.kill()])
})

test('the page asks for the admin token, refuses a wrong one, and shows the running version with the right one', async () => {
  await page.goto(`${gw.admin}/console/?poll=500`)
  await page.locator('#token').waitFor({ state: 'visible' })
  assert.equal(await page.locator('#main').isVisible(), false, 'nothing is shown before sign-in')
  await page.fill('#token', 'not-the-admin-token-at-all')
  await page.click('#sign-in-form button[type=submit]')
  await seen('#sign-in-error', /refused that token \(401\)/)
  await page.fill('#token', TOKEN)
  await page.click('#sign-in-form button[type=submit]')
  const { version } = await adminJson('/config')
  assert.equal(await seen('#config-version', /\w{6,}/), version)
  await seen('#last-reload', /none since start/)
})

test('listeners and routes are listed', async () => {
  const text = await seen('#listeners-body', /chat-ab/)
  assert.match(text, new RegExp(`public\\s+127\\.0\\.0\\.1:${port}\\s+openai\\s+main\\s+keys, limits, cache`))
  assert.match(text, /path\.exact=\/v1\/chat\/completions\s+split fleet 80 % · canary 20 %/)
})

test('with traffic: the experiment, the tenant’s usage and the cache are shown with their numbers', async () => {
  const client = new OpenAI({ apiKey: caller.key, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 })
  for (let i = 0; i < 20; i++) {
    // Ten prompts twice, deterministic (temperature 0), so the cache has hits to count.
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `hello ${i % 10}` }] })
    assert.equal(r.object, 'chat.completion')
  }
  const ex = await seen('#experiments-body', /chat-ab\s+route table main · random split · 20 requests/)
  assert.match(ex, /fleet\s+80\s+80\.0 %\s+[\d.]+ %\s+\d+/)
  assert.match(ex, /canary\s+20\s+20\.0 %/)
  const tenants = await seen('#tenants-body', /acme/)
  assert.match(tenants, /tier=pro · 1 key/)
  assert.match(tenants, /limits\/pro\s+requests_per_second\s+\d+ of 50 left/)
  assert.match(tenants, /limits\/pro\s+tokens_per_minute\s+\d+ of 100000 left/)
  // The cache key includes the variant's cluster, so how many repeats hit depends on the split.
  const cache = await seen('#cache-body', /chat-ab\s+\d+\s+\d+\s+0\s+0\s+\d+\s+[\d.]+ %/)
  const [, hit, miss, stored] = /chat-ab\s+(\d+)\s+(\d+)\s+0\s+0\s+(\d+)/.exec(cache)!.map(Number)
  assert.equal(hit + miss, 20, cache)
  assert.ok(hit >= 1 && stored === miss, cache)
  assert.match(cache, new RegExp(`Entries\\s+${miss}\\b`))
})

test('an endpoint whose upstream process is killed is marked unhealthy; the other stays healthy', async () => {
  const row = (url: string) => `#clusters-body tr[data-endpoint="${url}"]`
  await seen(row(a.url), /^\S+\s+healthy\s+healthy\s+closed\s+no\s+0\s+\d+/)
  await a.kill()
  const dead = await seen(row(a.url), /unhealthy/)
  assert.match(dead, /unhealthy\s+skipped: health_check/)
  assert.match(dead, /ECONNREFUSED/)
  assert.match(await page.locator(row(a.url)).getAttribute('class') ?? '', /row-bad/)
  assert.match(await seen(row(b.url), /healthy/), /^\S+\s+healthy\s+healthy/)
  // What the page says is what /clusters says.
  const clusters = await adminJson('/clusters')
  assert.equal(clusters.fleet.endpoints[0].health.status, 'unhealthy')
  await screenshot('clusters', '#clusters')
  await screenshot('overview')
})

const BROKEN = `listeners:
  - { name: public, address: 127.0.0.1, port: 70000, route_table: main }
routes:
  - name: main
    rules:
      - { match: { path: { prefix: /v1/ } }, cluster: fleet }
clusters:
  - { name: fleet, provider: openai, lb: fastest, endpoints: [{ url: "http://127.0.0.1:1" }] }
`

test('the validator shows the same located errors as `switchyard validate`, and applies nothing', async () => {
  const dir = join(gw.dir, 'check')
  mkdirSync(dir)
  writeFileSync(join(dir, 'pasted.yaml'), BROKEN)
  const cli = await runCli(['validate', 'pasted.yaml'], { cwd: dir })
  assert.equal(cli.code, 1)
  const expected = cli.stderr.trim().split('\n').slice(0, -1)
  assert.ok(expected.length === 2 && expected.every((l) => /^pasted\.yaml:\d+:\d+: /.test(l)), cli.stderr)

  await page.fill('#validate-name', 'pasted.yaml')
  await page.fill('#validate-text', BROKEN)
  await page.click('#validate')
  await seen('#validate-result', /invalid\s+2 errors; nothing was applied/)
  const shown = await page.locator('#validate-result ul.errors li button').allInnerTexts()
  assert.deepStrictEqual(shown, expected)
  assert.match(shown[0], /^pasted\.yaml:2:47: listeners\[0\]\.port: /)
  // Clicking an error puts the caret where it points.
  await page.locator('#validate-result ul.errors li button').first().click()
  const caret = await page.locator('#validate-text').evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionStart + 5))
  assert.equal(caret, '70000')
  await screenshot('validator', '#validator')

  await page.fill('#validate-text', BROKEN.replace('70000', '8080').replace('lb: fastest, ', ''))
  await page.click('#validate')
  await seen('#validate-result', /valid\s+pasted\.yaml: ok \(version \w+\): 1 listeners, 1 route tables \(1 rules\), 1 clusters, 0 filters/)
  assert.equal((await adminJson('/config')).last_reload, null, 'validating is not a reload')
})

test('a reload changes the version shown and lists it with its diff; a rejected one shows its located error', async () => {
  const before = (await adminJson('/config')).version
  gw.writeConfig(configText(gw.adminPort, [60, 40]))
  let after = before
  const deadline = Date.now() + 10_000
  while (after === before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    after = (await adminJson('/config')).version
  }
  assert.notEqual(after, before, 'the gateway applied the new config')
  assert.equal(await seen('#config-version', new RegExp(`^${after}$`)), after)
  await seen('#last-reload', /applied/)
  const history = await seen('#history-body', new RegExp(after))
  assert.match(history, new RegExp(`diff\\s+${after}[^\\n]*\\n~routes/main`))
  assert.match(history, new RegExp(`show\\s+${before}`))
  const diff = await seen('#diff-body', new RegExp(`${before} → ${after}`))
  assert.match(diff, /~ routes\/main/)
  assert.match(diff, /-\s+weight: 80\s+\+\s+weight: 60/)
  assert.match(diff, /-\s+weight: 20\s+\+\s+weight: 40/)
  await seen('#listeners-body', /fleet 60 % · canary 40 %/)
  await screenshot('reloads', '#reloads')

  gw.writeConfig(configText(gw.adminPort, [60, 40]).replace('weight: 60', 'weight: sixty'))
  const error = await seen('#reload-error', /rejected/)
  assert.match(error, /config\.yaml:\d+:\d+: routes\[0\]\.rules\[0\]\.weighted_clusters\.clusters\[0\]\.weight: must be integer/)
  await seen('#last-reload', new RegExp(`rejected .* version ${after} keeps serving`))
  await screenshot('config', '#config')
  gw.writeConfig(configText(gw.adminPort, [60, 40]))
})

test('no secret is on the page: not the admin token, an upstream key or a caller’s key', async () => {
  const text = await page.locator('body').innerText()
  const html = await page.content()
  for (const [what, secret] of [['admin token', TOKEN], ['literal upstream key', LITERAL_KEY], ['upstream key from the environment', ENV_KEY], ['caller key', caller.key]] as const) {
    assert.ok(!text.includes(secret), `${what} shown on the page`)
    assert.ok(!html.includes(secret), `${what} in the page's HTML`)
  }
  // The token lives in this tab's sessionStorage only: no cookie, nothing in the URL.
  assert.deepStrictEqual(await page.context().cookies(), [])
  assert.ok(!page.url().includes(TOKEN))
  assert.equal(await page.evaluate(() => sessionStorage.getItem('switchyard-admin-token')), TOKEN)
})

test('the page ran without a script error or a Content-Security-Policy refusal', () => {
  assert.deepStrictEqual(pageErrors, [])
})

test('signing out forgets the token and hides everything', async () => {
  await page.click('#sign-out')
  await page.locator('#token').waitFor({ state: 'visible' })
  assert.equal(await page.locator('#main').isVisible(), false)
  assert.equal(await page.evaluate(() => sessionStorage.getItem('switchyard-admin-token')), null)
  await page.reload()
  await page.locator('#token').waitFor({ state: 'visible' })
})

test('without admin.token (loopback only) the page opens without asking for a token', async (t) => {
  const listen = await freePort()
  const open = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${listen}, route_table: main }]
routes: [{ name: main, rules: [{ name: all, cluster: mock }] }]
clusters: [{ name: mock, provider: mock }]
`)
  t.after(() => open.stop())
  const p = await browser.newPage()
  t.after(() => p.close())
  await p.goto(`${open.admin}/console/`)
  await p.locator('#config-version').waitFor({ state: 'visible' })
  assert.equal(await p.locator('#config-version').innerText(), (await (await fetch(`${open.admin}/config`)).json()).version)
  assert.equal(await p.locator('#sign-in').isVisible(), false)
  assert.equal(await p.locator('#sign-out').isVisible(), false, 'nothing to sign out of')
  assert.match(await p.locator('#clusters-body').innerText(), /mock\s+mock · round_robin/)
})
