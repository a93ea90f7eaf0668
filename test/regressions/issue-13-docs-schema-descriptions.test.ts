/**
 * Issue 13: route-table.schema.json described 26 of its 60 properties (matcher leaves and
 * `direct_response.*` none), enum values went unexplained and no schema had a `$id`.
 * test/compiler/schema-docs.test.ts checks every schema file; these pin what the issue named.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../support/repo-root.js'

type Node = { description?: string; properties?: Record<string, Node>; $defs?: Record<string, Node>; [k: string]: unknown }
const read = (rel: string) => JSON.parse(readFileSync(join(repoRoot, 'schemas', rel), 'utf8')) as Node

function properties(node: unknown, where: string, out: [string, Node][] = []): [string, Node][] {
  if (typeof node !== 'object' || node === null) return out
  for (const [k, v] of Object.entries(node)) {
    if (k === 'if' || k === 'then' || k === 'else') continue
    if (k === 'properties') for (const [name, p] of Object.entries(v as Record<string, Node>)) out.push([`${where}.${name}`, p])
    properties(v, k === 'properties' || k === '$defs' ? where : `${where}/${k}`, out)
  }
  return out
}

test('every property of the route table schema has a description', () => {
  const all = properties(read('route-table.schema.json'), 'route-table')
  assert.ok(all.length >= 55, `${all.length} properties`)
  assert.deepStrictEqual(all.filter(([, p]) => typeof p.description !== 'string').map(([w]) => w), [])
})

test('matcher leaves and direct_response.* say what they match or send, with the default', () => {
  const d = read('route-table.schema.json').$defs!
  const leaves = {
    'match.path.exact': d.match.properties!.path.properties!.exact,
    'match.path.prefix': d.match.properties!.path.properties!.prefix,
    'match.model.exact': d.match.properties!.model.properties!.exact,
    'match.model.glob': d.match.properties!.model.properties!.glob,
    'headerMatch.exact': d.headerMatch.properties!.exact,
    'headerMatch.present': d.headerMatch.properties!.present,
    'queryMatch.absent': d.queryMatch.properties!.absent,
    'direct_response.status': d.rule.properties!.direct_response.properties!.status,
    'direct_response.body': d.rule.properties!.direct_response.properties!.body,
    'direct_response.content_type': d.rule.properties!.direct_response.properties!.content_type,
  }
  const weak = Object.entries(leaves).filter(([, p]) => !(typeof p.description === 'string' && p.description.length >= 30 && /Example|Default/.test(p.description))).map(([k]) => k)
  assert.deepStrictEqual(weak, [])
  assert.match(leaves['direct_response.content_type'].description!, /Default `text\/plain; charset=utf-8`/)
})

test('retry_on and fallback.on explain each failure they accept', () => {
  const d = read('route-table.schema.json').$defs!
  for (const p of [d.retryPolicy.properties!.retry_on, d.fallback.properties!.on]) {
    for (const v of ['connect_failure', 'reset', 'timeout', '5xx', '429', 'context_length']) assert.match(p.description!, new RegExp('`' + v + '` \\('))
  }
})

test('every schema file has its $id', () => {
  const files = [...readdirSync(join(repoRoot, 'schemas')).filter((f) => f.endsWith('.json')), ...readdirSync(join(repoRoot, 'schemas', 'filters')).map((f) => `filters/${f}`)]
  assert.deepStrictEqual(files.filter((f) => read(f).$id !== `https://schemas.switchyard.local/${f}`), [])
})
