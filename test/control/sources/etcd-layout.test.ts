/**
 * How config objects sit in etcd: key names, the wrapper that turns one stored value into a config
 * document, and the way back from a diagnostic on that document to the value as stored.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { compileConfig } from '../../../src/compiler/index.js'
import type { Diagnostic } from '../../../src/compiler/diagnostics.js'
import {
  etcdErrorMessage, normalizePrefix, parseRelKey, prefixEnd, relKeyOf, unwrapDiagnostic, wrapValue,
} from '../../../src/control/sources/etcd-layout.js'

describe('keys', () => {
  test('a prefix always ends in a slash, so prod never matches prod2', () => {
    assert.deepStrictEqual([normalizePrefix('/switchyard/prod'), normalizePrefix('/switchyard/prod/')], ['/switchyard/prod/', '/switchyard/prod/'])
  })

  const keys: [string, ReturnType<typeof parseRelKey>][] = [
    ['clusters/openai', { kind: 'clusters', name: 'openai' }],
    ['listeners/api', { kind: 'listeners', name: 'api' }],
    ['routes/main', { kind: 'routes', name: 'main' }],
    ['filters/auth', { kind: 'filters', name: 'auth' }],
    ['models/gpt-4o', { kind: 'models', name: 'gpt-4o' }],
    ['admin', { kind: 'admin' }],
    ['runtime', { kind: 'runtime' }],
    ['clusters', undefined],
    ['clusters/', undefined],
    ['clusters/a/b', undefined],
    ['secrets/openai', undefined],
    ['admin/x', undefined],
    ['README', undefined],
  ]
  for (const [key, expected] of keys) {
    test(`the key ${key} is ${expected ? `the ${expected.kind} object${expected.name ? ` '${expected.name}'` : ''}` : 'not a config object'}`, () => {
      assert.deepStrictEqual(parseRelKey(key), expected)
    })
  }

  test('relKeyOf is the inverse of parseRelKey', () => {
    for (const [key, parsed] of keys) if (parsed) assert.equal(relKeyOf(parsed.kind, parsed.name), key)
  })

  const ends: [string, string, number[]][] = [
    ['a/b/', 'the next key after the slash', [...Buffer.from('a/b0')]],
    ['prod', 'its last byte plus one', [...Buffer.from('proe')]],
    ['', 'the NUL byte: every key', [0]],
  ]
  for (const [prefix, what, expected] of ends) {
    test(`the range end of prefix ${JSON.stringify(prefix)} is ${what}`, () => {
      assert.deepStrictEqual([...prefixEnd(prefix)], expected)
    })
  }
})

describe('wrapping', () => {
  test('a list object is wrapped as the one item of its kind, indented two columns', () => {
    assert.equal(wrapValue('clusters', 'name: a\nprovider: openai'), 'clusters:\n- name: a\n  provider: openai')
  })

  test('a singleton is wrapped as the map under its kind', () => {
    assert.equal(wrapValue('admin', 'port: 9901\naddress: 127.0.0.1'), 'admin:\n  port: 9901\n  address: 127.0.0.1')
  })

  const d = (over: Partial<Diagnostic>): Diagnostic => ({ code: 'SY_CFG_SCHEMA', source: 'k', line: 1, col: 1, path: '', message: 'm', ...over })
  const wrapped = new Set(['/sy/clusters/a', '/sy/clusters/b'])

  test('a diagnostic on a wrapped value points at the value as stored: one line up, two columns left', () => {
    const out = unwrapDiagnostic(d({ source: '/sy/clusters/a', line: 3, col: 13, path: 'clusters[0].provider' }), wrapped)
    assert.deepStrictEqual([out.line, out.col, out.path], [2, 11, 'provider'])
  })

  test('a diagnostic on the wrapper line itself points at the start of the value', () => {
    const out = unwrapDiagnostic(d({ source: '/sy/clusters/a', line: 1, col: 1, path: 'clusters' }), wrapped)
    assert.deepStrictEqual([out.line, out.col], [1, 1])
  })

  const paths: [string, string][] = [
    ['clusters[0].endpoints[0].url', 'endpoints[0].url'],
    ['clusters[0]', ''],
    ['routes[0].rules[1]', 'rules[1]'],
    ['admin.port', 'port'],
    ['runtime', ''],
  ]
  for (const [path, expected] of paths) {
    test(`the path ${path} loses its wrapper prefix: ${expected === '' ? '(the object itself)' : expected}`, () => {
      assert.equal(unwrapDiagnostic(d({ source: '/sy/clusters/a', line: 2, col: 3, path }), wrapped).path, expected)
    })
  }

  test('positions of wrapped values cited in the message are unwrapped too', () => {
    const out = unwrapDiagnostic(d({ source: '/sy/clusters/b', line: 2, col: 9, message: "duplicate cluster 'x' (first defined at /sy/clusters/a:2:9)" }), wrapped)
    assert.equal(out.message, "duplicate cluster 'x' (first defined at /sy/clusters/a:1:7)")
  })

  test('a diagnostic on a source that was not wrapped comes back as the same object', () => {
    const orig = d({ source: 'local.yaml', line: 4, col: 5, path: 'clusters[0].name', message: 'no position here' })
    assert.equal(unwrapDiagnostic(orig, wrapped), orig)
  })

  test('a diagnostic on an unwrapped source keeps its position but unwraps the wrapped positions it cites', () => {
    const out = unwrapDiagnostic(d({ source: 'local.yaml', line: 4, col: 5, message: 'first defined at /sy/clusters/a:3:7' }), wrapped)
    assert.deepStrictEqual([out.line, out.col, out.message], [4, 5, 'first defined at /sy/clusters/a:2:5'])
  })

  test('a compiler error inside a stored value points at the line and column of the value as stored', () => {
    const stored = 'name: a\nprovider: openai\nendpoints: [{ url: "http://127.0.0.1:1/v1" }]\nlb: sideways'
    const r = compileConfig([
      { name: 'base.yaml', text: 'admin: { port: 0 }\nlisteners: [{ name: l, port: 8080, route_table: t }]\nroutes: [{ name: t, rules: [{ cluster: a }] }]\n' },
      { name: '/sy/clusters/a', text: wrapValue('clusters', stored) },
    ], { source: 'test', env: {} })
    assert.equal(r.ok, false)
    const diags = r.ok ? [] : r.diagnostics.map((x) => unwrapDiagnostic(x, new Set(['/sy/clusters/a'])))
    const lb = diags.find((x) => x.source === '/sy/clusters/a')
    assert.ok(lb, JSON.stringify(diags))
    assert.deepStrictEqual([lb.line, lb.col, lb.path], [4, 5, 'lb'])
    assert.equal(stored.split('\n')[lb.line - 1].slice(lb.col - 1), 'sideways')
  })
})

describe('etcd errors', () => {
  test("an etcd3 client error loses the library's report-this-error sentence", () => {
    assert.equal(etcdErrorMessage(new Error('Unexpected watch state. Please report this error at https://github.com/microsoft/etcd3')), 'Unexpected watch state.')
  })

  test('a grpc error loses its empty resolution note', () => {
    assert.equal(etcdErrorMessage(new Error('14 UNAVAILABLE: No connection established. Resolution note: ')), '14 UNAVAILABLE: No connection established')
  })

  test('anything that is not an Error is shown as its string', () => {
    assert.equal(etcdErrorMessage('timed out'), 'timed out')
  })
})
