/** Registration values as data: what is accepted, and where a bad one is reported. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatDiagnostic } from '../../../src/compiler/index.js'
import { parseRegistration } from '../../../src/control/discovery/registration.js'

const KEY = '/switchyard/endpoints/fleet/gpu-7'
const cases: [string, string][] = [
  ['{"url": "ftp://h/v1"}', `${KEY}:1:9: url: must be an http(s) URL, got "ftp:"`],
  ['url: http://h/v1\napi_key: x\n', `${KEY}:2:1: api_key: a registration cannot carry credentials; set discovery.api_key on the cluster`],
  ['{"url": "http://u:p@h/v1"}', `${KEY}:1:9: url: a registration cannot carry credentials (userinfo in the URL)`],
  ['{"url": "http://h/v1", "weight": -1}', `${KEY}:1:34: weight: must be an integer from 0 to 1000000, got -1`],
  ['{"url": "http://h/v1", "port": 1}', `${KEY}:1:24: port: unknown field 'port' (known: url, weight, name)`],
  ['[1]', `${KEY}:1:1: must be an object { url, weight?, name? }`],
  ['{"weight": 2}', `${KEY}:1:1: url: url is required: a string like http://10.0.0.5:8000/v1`],
]

for (const [value, expected] of cases) {
  test(`rejects ${JSON.stringify(value)} at its position`, () => {
    const r = parseRegistration(KEY, 'gpu-7', value)
    assert.equal(r.ok, false)
    if (!r.ok) assert.equal(formatDiagnostic(r.diagnostic), expected)
  })
}

test('accepts a URL alone: weight 1, named by the key id', () => {
  assert.deepStrictEqual(parseRegistration(KEY, 'gpu-7', '{"url":"http://10.0.0.7:8000/v1"}'), { ok: true, endpoint: { key: KEY, url: 'http://10.0.0.7:8000/v1', weight: 1, name: 'gpu-7' } })
})
