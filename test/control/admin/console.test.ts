/**
 * The admin console's server side against a real gateway process: the static files (open like
 * /healthz when admin.token is set, Host-checked when it is not, with headers that keep other
 * pages and injected strings away from the token), POST /config/validate (the same lines as
 * `switchyard validate`, nothing applied, bounded, refused to other origins), and that npm pack
 * ships the files. What a person sees in a browser: test/integration/console-browser.test.ts.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type GatewayProcess } from '../../support/gateway-process.js'
import { freePort } from '../../support/ports.js'
import { repoRoot } from '../../support/repo-root.js'
import { runCli } from '../../support/run-cli.js'
import { CONSOLE_HEADERS, loadConsoleAssets } from '../../../src/control/admin/console.js'
import { MAX_VALIDATE_BYTES, sameOriginOrNone } from '../../../src/control/admin/validate-config.js'

const TOKEN = 'console-http-test-token-4d1c'
const auth = { authorization: `Bearer ${TOKEN}` }

let gw: GatewayProcess
let open: GatewayProcess

const config = (admin: number, port: number, withToken: boolean) => `
admin: { port: ${admin}${withToken ? `, token: ${TOKEN}` : ''} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules: [{ name: chat, match: { path: { prefix: /v1/ } }, cluster: mock }]
clusters: [{ name: mock, provider: mock }]
`

before(async () => {
  const [p1, p2] = [await freePort(), await freePort()]
  gw = await startGateway((admin) => config(admin, p1, true))
  open = await startGateway((admin) => config(admin, p2, false))
})
after(async () => {
  await Promise.all([gw?.stop(), open?.stop()])
})

interface Raw { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
    })
    // The gateway may answer (413) and close before the whole body is sent.
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)))
    if (opts.chunks) for (const c of opts.chunks) req.write(c)
    req.end(opts.body)
  })
}

const BROKEN = `listeners:
  - { name: api, address: 127.0.0.1, port: 99999, route_table: main }
routes:
  - name: main
    rules:
      - { match: { path: { prefix: /v1/ } }, cluster: mock }
clusters:
  - { name: mock, provider: mock, lb: fastest }
`

const VALID = `listeners:
  - { name: api, address: 127.0.0.1, port: 8080, route_table: main }
routes:
  - name: main
    rules: [{ match: { path: { prefix: /v1/ } }, cluster: mock }]
clusters: [{ name: mock, provider: mock }]
`

/** What `switchyard validate <name>` prints for `text` saved as `name` (run from its directory). */
async function cliValidate(name: string, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-console-'))
  writeFileSync(join(dir, name), text)
  return runCli(['validate', name], { cwd: dir })
}

test('/console redirects to /console/, which serves the page without the token, with headers that keep other pages out', async () => {
  const redirect = await raw(`${gw.admin}/console`)
  assert.deepStrictEqual([redirect.status, redirect.headers.location], [308, '/console/'])
  const page = await raw(`${gw.admin}/console/`)
  assert.equal(page.status, 200)
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  assert.match(page.body, /<title>Switchyard console<\/title>/)
  for (const [name, value] of CONSOLE_HEADERS) assert.equal(page.headers[name], value, name)
  assert.match(String(page.headers['content-security-policy']), /script-src 'self';/)
  assert.doesNotMatch(page.body, /<script>|\son[a-z]+="/, 'no inline script or handler: the CSP forbids them')
})

test('every file the page loads is served with its type, and nothing outside console/ is', async () => {
  const dir = join(repoRoot, 'console')
  const html = readFileSync(join(dir, 'index.html'), 'utf8')
  const referenced = new Set([...html.matchAll(/(?:src|href)="([\w.-]+\.(?:js|css))"/g)].map((m) => m[1]))
  for (const f of loadConsoleAssets(dir).keys()) {
    if (!f.endsWith('.js')) continue
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/from '\.\/([\w.-]+\.js)'/g)) referenced.add(m[1])
  }
  assert.ok(referenced.has('app.js') && referenced.has('console.css') && referenced.has('views.js'), [...referenced].join(' '))
  for (const f of referenced) {
    const r = await raw(`${gw.admin}/console/${f}`)
    assert.equal(r.status, 200, f)
    assert.equal(r.headers['content-type'], f.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', f)
    assert.equal(r.body, readFileSync(join(dir, f), 'utf8'), f)
  }
  for (const path of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/%2e%2e/package.json']) {
    const r = await raw(`${gw.admin}${path}`)
    assert.ok(r.status === 404 || r.status === 401, `${path}: ${r.status}`)
    assert.doesNotMatch(r.body, /"name": "switchyard"/, path)
  }
})

test('the API behind the page still needs the token', async () => {
  assert.equal((await raw(`${gw.admin}/config`)).status, 401)
  const v = await raw(`${gw.admin}/config/validate`, { method: 'POST', body: VALID })
  assert.equal(v.status, 401)
  assert.equal((await raw(`${gw.admin}/config`, { headers: auth })).status, 200)
})

test('without admin.token the page passes the same loopback-Host check as the API (DNS rebinding)', async () => {
  assert.equal((await raw(`${open.admin}/console/`)).status, 200)
  const rebound = await raw(`${open.admin}/console/`, { headers: { host: 'attacker.example:9901' } })
  assert.equal(rebound.status, 403)
  assert.doesNotMatch(rebound.body, /<html/)
  assert.equal((await raw(`${open.admin}/config/validate`, { method: 'POST', headers: { host: 'attacker.example' }, body: VALID })).status, 403)
})

test('POST /config/validate answers the lines `switchyard validate` prints for the same file, and 422', async () => {
  const cli = await cliValidate('broken.yaml', BROKEN)
  assert.equal(cli.code, 1)
  const cliLines = cli.stderr.trim().split('\n').slice(0, -1)
  assert.ok(cliLines.length >= 2 && cliLines.every((l) => /^broken\.yaml:\d+:\d+: /.test(l)), cli.stderr)
  const r = await raw(`${gw.admin}/config/validate?name=broken.yaml`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: BROKEN })
  assert.equal(r.status, 422)
  const body = JSON.parse(r.body)
  assert.equal(body.ok, false)
  assert.deepStrictEqual(body.errors, cliLines)
  assert.deepStrictEqual(body.diagnostics.map((d: { line: number; col: number; code: string }) => `${d.line}:${d.col}`), cliLines.map((l) => /^broken\.yaml:(\d+:\d+):/.exec(l)![1]))
})

test('a valid config: 200 with the summary line `switchyard validate` prints, and the running config is untouched', async () => {
  const before = JSON.parse((await raw(`${gw.admin}/config`, { headers: auth })).body)
  const cli = await cliValidate('config.yaml', VALID)
  assert.equal(cli.code, 0, cli.stderr)
  const r = await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: auth, body: VALID })
  assert.equal(r.status, 200, r.body)
  const body = JSON.parse(r.body)
  assert.equal(body.ok, true)
  assert.equal(body.summary, cli.stdout.trim())
  const afterwards = JSON.parse((await raw(`${gw.admin}/config`, { headers: auth })).body)
  assert.equal(afterwards.version, before.version)
  assert.notEqual(body.version, before.version)
  assert.equal(afterwards.last_reload, null, 'validating is not a reload')
})

test('secret references are checked and listed, never read', async () => {
  const text = VALID.replace('provider: mock }', 'provider: openai, endpoints: [{ url: "http://127.0.0.1:9", api_key: "${env:HOME}" }] }')
  const r = JSON.parse((await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: auth, body: text })).body)
  assert.equal(r.ok, true, JSON.stringify(r))
  assert.deepStrictEqual(r.needs.env, ['HOME'])
  assert.ok(!JSON.stringify(r).includes(process.env.HOME ?? '/nonexistent-home'), 'the value of HOME is not in the answer')
})

test(`the body is bounded at ${MAX_VALIDATE_BYTES} bytes: by its Content-Length and while it streams`, async () => {
  const big = Buffer.alloc(MAX_VALIDATE_BYTES + 1, 0x20)
  const declared = await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: auth, body: big })
  assert.equal(declared.status, 413)
  assert.match(JSON.parse(declared.body).error, /exceeds 1048576 bytes/)
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const streamed = await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' }, chunks: Array.from({ length: 17 }, () => chunk) })
  assert.equal(streamed.status, 413)
  // Exactly at the bound is compiled (and is not a config).
  const atBound = await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: auth, body: Buffer.alloc(MAX_VALIDATE_BYTES, 0x20) })
  assert.equal(atBound.status, 422)
  assert.equal((await raw(`${gw.admin}/ready`)).status, 200, 'the gateway keeps serving')
})

test('a page of another origin may not post a config; the console itself (same origin) may', async () => {
  const evil = await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: { ...auth, origin: 'https://attacker.example' }, body: VALID })
  assert.equal(evil.status, 403)
  const own = new URL(gw.admin).host
  const same = await raw(`${gw.admin}/config/validate`, { method: 'POST', headers: { ...auth, origin: `http://${own}` }, body: VALID })
  assert.equal(same.status, 200)
  assert.deepStrictEqual([sameOriginOrNone('', 'x'), sameOriginOrNone('null', '127.0.0.1:9901'), sameOriginOrNone('http://127.0.0.1:9901', '127.0.0.1:9901'), sameOriginOrNone('http://127.0.0.1:9902', '127.0.0.1:9901')], [true, false, true, false])
})

test('?name= labels the lines and must be a plain file name', async () => {
  for (const name of ['../etc/passwd', '/abs.yaml', 'a b.yaml', '.hidden']) {
    const r = await raw(`${gw.admin}/config/validate?name=${encodeURIComponent(name)}`, { method: 'POST', headers: auth, body: VALID })
    assert.equal(r.status, 400, name)
  }
})

test('a malformed %-escape in an admin path is a 400, not the end of the gateway (a web page could send one)', async () => {
  // Without a token a page's <img src="http://127.0.0.1:9901/tenants/%E0"> passes the Host check.
  for (const [gateway, headers] of [[open, {}], [gw, auth]] as const) {
    for (const path of ['/tenants/%E0%A4%A', '/keys/%', '/config/history/%ZZ', '/sessions/%E0']) {
      const r = await raw(`${gateway.admin}${path}`, { headers })
      assert.equal(r.status, 400, path)
      assert.match(JSON.parse(r.body).error, /malformed percent-encoding/)
    }
    assert.equal((await raw(`${gateway.admin}/ready`)).status, 200)
  }
})

test('npm pack ships the console files', async () => {
  const r = await new Promise<string>((resolve, reject) => {
    import('node:child_process').then(({ execFile }) => execFile('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot }, (e, out) => (e ? reject(e) : resolve(out))))
  })
  const files = (JSON.parse(r) as { files: { path: string }[] }[])[0].files.map((f) => f.path)
  const shipped = [...loadConsoleAssets(join(repoRoot, 'console')).keys()].map((f) => `console/${f}`)
  assert.ok(shipped.includes('console/index.html'))
  assert.deepStrictEqual(shipped.filter((f) => !files.includes(f)), [])
})
