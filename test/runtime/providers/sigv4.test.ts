/**
 * SigV4 for Bedrock: what sign() hands back, checked against a from-the-spec SigV4 computation on
 * node:crypto (AWS "Create a signed AWS API request"), so the signer's request mapping (host with
 * port, path and query split, headers) is what gets signed.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { createSigV4Signer } from '../../../src/runtime/providers/sigv4.js'

const KEY_ID = 'AKIDEXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
const NOW = Date.parse('2025-03-04T05:06:07Z')

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')
const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest()
/** RFC 3986 unreserved characters stay, everything else is %XX (SigV4's UriEncode). */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** The Authorization header SigV4 prescribes for this request, signed at `amzDate`. */
function expectedAuthorization(req: { method: string; host: string; path: string; query: string; headers: Record<string, string>; body: Buffer }, amzDate: string, region: string): string {
  const date = amzDate.slice(0, 8)
  const headers: Record<string, string> = { host: req.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha(req.body) }
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v.trim()
  const names = Object.keys(headers).sort()
  // Services other than S3 encode each path segment once more (the path is already URI-encoded).
  const uri = req.path.split('/').map(uriEncode).join('/')
  const query = [...new URLSearchParams(req.query)].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).sort().join('&')
  const canonical = [req.method, uri, query, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), sha(req.body)].join('\n')
  const scope = `${date}/${region}/bedrock/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, date), region), 'bedrock'), 'aws4_request')
  return `AWS4-HMAC-SHA256 Credential=${KEY_ID}/${scope}, SignedHeaders=${names.join(';')}, Signature=${createHmac('sha256', key).update(toSign).digest('hex')}`
}

async function sign(t: TestContext, origin: string, path: string, headers: Record<string, string> = {}, body?: Buffer, token?: string) {
  t.mock.timers.enable({ apis: ['Date'], now: NOW })
  return createSigV4Signer('eu-west-3', KEY_ID, SECRET, token).sign(origin, 'POST', path, headers, body)
}

const requests: { name: string; origin: string; host: string; path: string; headers: Record<string, string> }[] = [
  { name: 'a Converse call on the regional host', origin: 'https://bedrock-runtime.eu-west-3.amazonaws.com', host: 'bedrock-runtime.eu-west-3.amazonaws.com', path: '/model/amazon.nova-lite-v1%3A0/converse', headers: { 'content-type': 'application/json' } },
  { name: 'a host with a port (the port is part of the signed host)', origin: 'http://127.0.0.1:9443', host: '127.0.0.1:9443', path: '/model/m/converse-stream', headers: { 'content-type': 'application/json', accept: 'application/vnd.amazon.eventstream' } },
  { name: 'a path with a query (signed as sorted, encoded parameters)', origin: 'https://bedrock-runtime.eu-west-3.amazonaws.com', host: 'bedrock-runtime.eu-west-3.amazonaws.com', path: '/model/m/converse?z=1&a=x%20y', headers: {} },
]
for (const r of requests) {
  test(`the signature of ${r.name} is the one SigV4 prescribes`, async (t) => {
    const body = Buffer.from('{"messages":[{"role":"user","content":[{"text":"hi"}]}]}')
    const out = await sign(t, r.origin, r.path, r.headers, body)
    const [path, query = ''] = r.path.split('?')
    assert.equal(out.authorization, expectedAuthorization({ method: 'POST', host: r.host, path, query, headers: r.headers, body }, out['x-amz-date'], 'eu-west-3'))
  })
}

test('sign() returns only the authorization and x-amz-* headers, not host or the request headers', async (t) => {
  const out = await sign(t, 'https://bedrock-runtime.eu-west-3.amazonaws.com', '/model/m/converse', { 'content-type': 'application/json' }, Buffer.from('{}'))
  assert.deepStrictEqual(Object.keys(out).sort(), ['authorization', 'x-amz-content-sha256', 'x-amz-date'])
})

test('x-amz-date is the signing time in ISO basic format', async (t) => {
  const out = await sign(t, 'https://bedrock-runtime.eu-west-3.amazonaws.com', '/model/m/converse', {}, Buffer.from('{}'))
  assert.equal(out['x-amz-date'], '20250304T050607Z')
})

test('a session token is sent as x-amz-security-token and signed', async (t) => {
  const out = await sign(t, 'https://bedrock-runtime.eu-west-3.amazonaws.com', '/model/m/converse', {}, Buffer.from('{}'), 'session-token')
  assert.equal(out['x-amz-security-token'], 'session-token')
  assert.match(out.authorization, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/)
})

test('a request without a body is signed with the hash of the empty string', async (t) => {
  const out = await sign(t, 'https://bedrock-runtime.eu-west-3.amazonaws.com', '/model/m/converse')
  assert.equal(out['x-amz-content-sha256'], sha(''))
})

test('the credential scope names the date, the region and the bedrock service', async (t) => {
  const out = await sign(t, 'https://bedrock-runtime.eu-west-3.amazonaws.com', '/model/m/converse', {}, Buffer.from('{}'))
  assert.match(out.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250304\/eu-west-3\/bedrock\/aws4_request, /)
})
