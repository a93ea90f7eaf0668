/** Recognising credentials in config values: URL userinfo and credential header values, as data. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { headerSecretForms, isCredentialHeader, redactUrl, urlCredentials } from '../../src/compiler/credentials.js'

test('redactUrl masks userinfo and nothing else', () => {
  const cases: [string, string][] = [
    ['http://user:pass@host:8080/v1', 'http://[redacted]@host:8080/v1'],
    ['https://token@host/v1?x=1', 'https://[redacted]@host/v1?x=1'],
    ['http://a@b:c@host/v1', 'http://[redacted]@host/v1'],
    ['http://host/v1/@not-userinfo', 'http://host/v1/@not-userinfo'],
    ['http://host/v1?u=a@b', 'http://host/v1?u=a@b'],
    ['mock://u:p@name', 'mock://[redacted]@name'],
    ['https://api.openai.com/v1', 'https://api.openai.com/v1'],
    ['not a url @ all', 'not a url @ all'],
  ]
  assert.deepStrictEqual(cases.map(([s]) => [s, redactUrl(s)]), cases)
})

test('urlCredentials is undefined without userinfo and never puts it in the display URL', () => {
  assert.equal(urlCredentials('http://h/v1', new URL('http://h/v1')), undefined)
  assert.equal(urlCredentials('http://@h/v1', new URL('http://@h/v1')), undefined)
  const c = urlCredentials('http://u:p%40ss@h/v1', new URL('http://u:p%40ss@h/v1'))!
  assert.deepStrictEqual({ display: c.display, basicAuth: c.basicAuth }, { display: 'http://[redacted]@h/v1', basicAuth: `Basic ${Buffer.from('u:p@ss').toString('base64')}` })
})

test('credential-like header names', () => {
  const yes = ['authorization', 'Proxy-Authorization', 'x-api-key', 'api-key', 'cookie', 'set-cookie', 'x-goog-api-key', 'x-amz-security-token', 'x-client-secret', 'x-password']
  const no = ['x-team', 'content-type', 'x-request-id', 'anthropic-version', 'user-agent']
  assert.deepStrictEqual([yes.filter(isCredentialHeader), no.filter(isCredentialHeader)], [yes, []])
})

test('header values yield the forms an upstream may echo', () => {
  assert.deepStrictEqual(headerSecretForms('authorization', 'Bearer abc123'), ['Bearer abc123', 'abc123'])
  assert.deepStrictEqual(headerSecretForms('x-api-key', 'k-123'), ['k-123'])
  const basic = Buffer.from('me:pw-1').toString('base64')
  assert.deepStrictEqual(headerSecretForms('authorization', `Basic ${basic}`), [`Basic ${basic}`, basic, 'me:pw-1', 'pw-1'])
  // Not base64 of a user:pass pair: nothing decoded is listed.
  assert.deepStrictEqual(headerSecretForms('authorization', 'Basic not_base64!'), ['Basic not_base64!', 'not_base64!'])
  assert.deepStrictEqual(headerSecretForms('cookie', 'a=one; b=two'), ['a=one; b=two', 'one', 'two'])
})
