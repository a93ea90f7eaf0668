/**
 * Issue 10, item 4: request smuggling through ambiguous framing. uWS frames a body by the first
 * Content-Length it sees and parses whatever follows as the next request; the gateway must refuse
 * any request whose framing is ambiguous (duplicate or invalid Content-Length, Transfer-Encoding
 * together with Content-Length, a transfer coding other than `chunked`) and never forward a byte
 * that follows it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startGateway } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'
import { framingError } from '../../src/runtime/http/request-framing.js'
import { exchange, firstBody, proxyConfig, startCountingUpstream, type CountingUpstream } from '../support/raw-http.js'

async function setup(t: { after(fn: () => unknown): void }, extra = ''): Promise<{ port: number; up: CountingUpstream }> {
  const up = await startCountingUpstream()
  t.after(() => up.close())
  const port = await freePort()
  const gw = await startGateway((admin) => proxyConfig(admin, port, up.url, extra))
  t.after(() => gw.stop('SIGKILL'))
  return { port, up }
}

test('framing rules as data: which Content-Length / Transfer-Encoding pairs are accepted', () => {
  // [content-length, transfer-encoding] as the handler joins them (repeats with ", ")
  const accepted: [string | undefined, string | undefined][] = [
    [undefined, undefined], ['0', undefined], ['2', undefined], ['002', undefined], ['999999999999999', undefined],
    [undefined, 'chunked'], [undefined, 'Chunked'], [undefined, 'CHUNKED'],
  ]
  const refused: [string | undefined, string | undefined][] = [
    ['2, 61', undefined], ['2, 2', undefined], ['', undefined], ['2x', undefined], ['+2', undefined], ['-1', undefined],
    [' 2', undefined], ['0x10', undefined], ['1e3', undefined], ['1234567890123456', undefined],
    ['2', 'chunked'], ['', 'chunked'], ['2', ''], [undefined, ''], [undefined, 'gzip, chunked'],
    [undefined, 'chunked, chunked'], [undefined, 'identity'], [undefined, 'chunked;x'], [undefined, 'chunkee'],
  ]
  assert.deepEqual(accepted.filter(([cl, te]) => framingError(cl, te) !== undefined), [])
  assert.deepEqual(refused.filter(([cl, te]) => framingError(cl, te) === undefined), [])
  assert.equal(framingError('2, 61', undefined), "conflicting or repeated Content-Length values '2, 61'")
  assert.equal(framingError('9'.repeat(60), undefined), `invalid Content-Length '${'9'.repeat(40)}…' (must be a decimal number of bytes)`)
})

const SMUGGLED = 'GET /v1/SMUGGLED2 HTTP/1.1\r\nHost: x\r\n\r\n'

test('the request hidden behind a second Content-Length is never forwarded', async (t) => {
  const { port, up } = await setup(t)
  const body = `{}${SMUGGLED}`
  const r = await exchange(port, `POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  assert.ok(r.closed, `the connection stayed open: ${JSON.stringify(r.text)}`)
  // uWS closes the connection itself once it parses the smuggled head while the refused request
  // is still unanswered, so no status line can follow; a 400 is the only acceptable one.
  assert.ok(r.statuses.every((s) => s === 400), `answered ${r.statuses.join(', ')}: ${JSON.stringify(r.text)}`)
  assert.deepEqual(up.seen, [])
})

test('two Content-Length headers get 400 in OpenAI error JSON and the connection is closed', async (t) => {
  const { port, up } = await setup(t)
  for (const lengths of [['2', '61'], ['2', '2']]) {
    const r = await exchange(port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${lengths[0]}\r\nContent-Length: ${lengths[1]}\r\n\r\n{}`)
    assert.deepEqual(r.statuses, [400], `${lengths}: ${JSON.stringify(r.text)}`)
    assert.match(r.text, /\r\nConnection: close\r\n/i)
    assert.ok(r.closed, `${lengths}: the connection stayed open`)
    const err = firstBody(r.text).error
    assert.equal(err.code, 'sy_bad_request')
    assert.equal(err.type, 'invalid_request_error')
    assert.match(err.message, /content-length/i)
  }
  assert.deepEqual(up.seen, [])
})

test('an Anthropic listener refuses in Anthropic error JSON', async (t) => {
  const { port, up } = await setup(t, ', protocol: anthropic')
  const r = await exchange(port, 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}')
  assert.deepEqual(r.statuses, [400], r.text)
  assert.ok(r.closed)
  assert.deepEqual(firstBody(r.text), { type: 'error', error: { type: 'invalid_request_error', message: "conflicting or repeated Content-Length values '2, 3'" } })
  assert.deepEqual(up.seen, [])
})

test('every ambiguous framing is refused and nothing is forwarded', async (t) => {
  const { port, up } = await setup(t)
  const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'
  // [what, request, may uWS close first (no answer possible)?]
  const cases: [string, string, boolean][] = [
    ['empty Content-Length', `${head}Content-Length: \r\n\r\n{}`, false],
    ['empty Transfer-Encoding with Content-Length', `${head}Transfer-Encoding: \r\nContent-Length: 2\r\n\r\n{}`, false],
    ['chunked with an empty Content-Length', `${head}Transfer-Encoding: chunked\r\nContent-Length: \r\n\r\n2\r\n{}\r\n0\r\n\r\n`, false],
    ['a coding before chunked', `${head}Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, false],
    ['chunked twice', `${head}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, false],
    ['Content-Length on a GET, twice', `GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n`, false],
    // uWS parses these lengths itself right after our handler returns and closes the connection.
    ['a non-digit Content-Length', `${head}Content-Length: 2x\r\n\r\n{}`, true],
    ['a signed Content-Length', `${head}Content-Length: +2\r\n\r\n{}`, true],
    ['a list in one Content-Length', `${head}Content-Length: 2, 2\r\n\r\n{}`, true],
    ['Transfer-Encoding identity', `${head}Transfer-Encoding: identity\r\n\r\n{}`, true],
    // uWS refuses these before calling the handler.
    ['Transfer-Encoding with Content-Length', `${head}Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, true],
  ]
  for (const [what, bytes, uwsMayClose] of cases) {
    const r = await exchange(port, bytes)
    assert.ok(r.closed, `${what}: the connection stayed open: ${JSON.stringify(r.text)}`)
    if (uwsMayClose) assert.ok(r.statuses.every((s) => s === 400), `${what}: answered ${r.statuses}`)
    else {
      assert.deepEqual(r.statuses, [400], `${what}: ${JSON.stringify(r.text)}`)
      assert.equal(firstBody(r.text).error.code, 'sy_bad_request', what)
    }
  }
  assert.deepEqual(up.seen, [])
})

test('plain Content-Length and chunked requests still go through on a kept-alive connection', async (t) => {
  const { port, up } = await setup(t)
  const body = '{"model":"m","messages":[]}'
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
  const r = await exchange(port,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 3000, 1)
  assert.deepEqual(r.statuses, [200], r.text)
  assert.ok(!r.closed, 'a normal request closed the connection')
  const c = await exchange(port,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: Chunked\r\n\r\n${chunked}`, 3000, 1)
  assert.deepEqual(c.statuses, [200], c.text)
  assert.deepEqual(up.seen, ['POST /v1/chat/completions', 'POST /v1/chat/completions'])
})
