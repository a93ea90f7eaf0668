/**
 * One cluster's IR as the compiler makes it (schema defaults filled in, endpoints resolved), for unit
 * tests of runtime modules that take a ClusterIR. `cluster` is the YAML flow map of one cluster.
 *
 * @example
 * const ir = clusterIR('{ name: c, provider: anthropic, endpoints: [{ url: "http://127.0.0.1:1/v1" }] }')
 */
import assert from 'node:assert/strict'
import { compileConfig } from '../../src/compiler/index.js'
import type { ClusterIR } from '../../src/compiler/ir.js'

export function clusterIR(cluster: string): ClusterIR {
  const text = `admin: { port: 0 }
listeners: [{ name: l, port: 8080, route_table: t }]
clusters: [${cluster}]
`
  const name = /name:\s*([\w-]+)/.exec(cluster)?.[1]
  const r = compileConfig([{ name: 'cluster.yaml', text: `${text}routes: [{ name: t, rules: [{ cluster: ${name} }] }]\n` }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n'))
  return r.ir.clusters[0]
}
