/**
 * switchyard config push|diff|pull: keep one environment's config (an etcd key prefix) in step
 * with a local file or directory.
 *
 * push validates locally (the same errors as `validate`), then writes every changed object and
 * deletes every removed one in a single transaction guarded by what it read: if anything under
 * the prefix changed since (another push, a direct write), nothing is written and push fails.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hostname, userInfo } from 'node:os'
import { isDeepStrictEqual } from 'node:util'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import type { Etcd3, ICompare, IRequestOp } from 'etcd3'
import { compilePathWithPlugins } from './compile-path.js'
import { loadSources } from '../compiler/load.js'
import { createEtcdClient } from '../control/sources/etcd-client.js'
import { LIST_KINDS, PUSH_META_KEY, SINGLETONS, STATE_DIR, etcdErrorMessage, prefixEnd, parseRelKey, relKeyOf, wrapValue, type ObjectKind } from '../control/sources/etcd-layout.js'
import type { EtcdTarget } from './etcd-options.js'
import type { PushMeta } from '../control/config-history.js'

/** etcd's default --max-txn-ops: the most compares, and the most writes, in one transaction. */
const MAX_TXN_OPS = 128

/** Runs `config push|diff|pull` on flags already parsed and checked. */
export async function configCommand(sub: 'push' | 'diff' | 'pull', path: string, target: EtcdTarget, message?: string): Promise<number> {
  if (sub === 'pull' && existsSync(path) && readdirSync(path).length > 0) {
    console.error(`switchyard config pull: ${path} is not empty; pull into a new or empty directory (stale files would be pushed back)`)
    return 1
  }
  const desired = sub === 'pull' ? undefined : await readDesired(path)
  if (sub !== 'pull' && !desired) return 1
  const client = createEtcdClient(target.connect)
  try {
    const current = await readCurrent(client, target.prefix)
    if (sub === 'pull') return pull(current, path, target.prefix)
    const plan = planChanges(current, desired!)
    if (sub === 'diff') return printDiff(plan, current, target.prefix)
    const r = await commitPush(client, plan, current, target.prefix, pushMeta(message))
    if (r.ok) console.log(r.message)
    else console.error(`switchyard config push: ${r.message}`)
    return r.ok ? 0 : 1
  } catch (e) {
    console.error(`switchyard config ${sub}: etcd ${target.connect.endpoints.join(',')}: ${etcdErrorMessage(e)}`)
    return 1
  } finally {
    client.close()
  }
}

interface StoredObject {
  readonly text: string
  readonly modRevision: string
}
export interface Current {
  readonly revision: number
  /** Layout keys (relative to the prefix) → value. */
  readonly objects: Map<string, StoredObject>
}
export interface Desired {
  readonly value: unknown
  readonly text: string
}
export interface Plan {
  readonly add: Map<string, Desired>
  readonly change: Map<string, Desired>
  readonly remove: string[]
}

/**
 * Compiles the local config like `validate` (printing every error); then splits it into objects.
 * References are checked, never read: they go to etcd as written and each gateway host resolves them.
 */
export async function readDesired(path: string): Promise<Map<string, Desired> | undefined> {
  // With plugin filters checked too: their modules are imported, their options validated.
  const compiled = await compilePathWithPlugins(path, '; nothing pushed', 'collect')
  if (!compiled) return undefined
  const { sources } = compiled
  const out = new Map<string, Desired>()
  const put = (kind: ObjectKind, value: unknown, name?: string) => out.set(relKeyOf(kind, name), { value, text: stringifyYaml(value) })
  for (const doc of loadSources(sources, [])) {
    const v = doc.value as Record<string, unknown>
    // Keys are named by their public id; every other kind by its name.
    for (const kind of LIST_KINDS) for (const item of (v[kind] as { name?: string; id?: string }[] | undefined) ?? []) put(kind, item, kind === 'keys' ? item.id : item.name)
    for (const kind of SINGLETONS) if (v[kind] !== undefined) put(kind, v[kind])
  }
  return out
}

export async function readCurrent(client: Etcd3, prefix: string): Promise<Current> {
  const res = await client.getAll().prefix(prefix).exec()
  const objects = new Map<string, StoredObject>()
  for (const kv of res.kvs) {
    const rel = kv.key.toString().slice(prefix.length)
    if (parseRelKey(rel)) objects.set(rel, { text: kv.value.toString(), modRevision: kv.mod_revision })
  }
  return { revision: Number(res.header.revision), objects }
}

function sameObject(stored: string, desired: unknown): boolean {
  try {
    return isDeepStrictEqual(parseYaml(stored), desired)
  } catch {
    return false
  }
}

export function planChanges(current: Current, desired: Map<string, Desired>): Plan {
  const plan: Plan = { add: new Map(), change: new Map(), remove: [] }
  for (const [rel, d] of desired) {
    const stored = current.objects.get(rel)
    if (!stored) plan.add.set(rel, d)
    else if (!sameObject(stored.text, d.value)) plan.change.set(rel, d)
  }
  for (const rel of current.objects.keys()) if (!desired.has(rel)) plan.remove.push(rel)
  return plan
}

const summary = (p: Plan) => `${p.add.size} added, ${p.change.size} changed, ${p.remove.length} deleted`

export type PushResult = { readonly ok: true; readonly revision: number; readonly message: string } | { readonly ok: false; readonly message: string }

/**
 * Writes `plan` if the prefix is still exactly as `current` saw it: no key modified or created
 * since (one range compare on mod_revision), none deleted (each key read keeps its mod_revision).
 */
/** Who pushes, from where and why: stored beside the objects in the same transaction. */
export function pushMeta(message: string | undefined): PushMeta {
  let user = process.env.USER ?? ''
  try {
    user = userInfo().username
  } catch {}
  return { ...(message !== undefined && { message }), ...(user && { user }), host: hostname(), at: new Date().toISOString() }
}

export async function commitPush(client: Etcd3, plan: Plan, current: Current, prefix: string, meta?: PushMeta): Promise<PushResult> {
  if (plan.add.size + plan.change.size + plan.remove.length === 0) {
    return { ok: true, revision: current.revision, message: `${prefix}: up to date (etcd revision ${current.revision}); nothing pushed` }
  }
  // The range guard skips <prefix>.state/: gateways write rollout state there while a push runs.
  const state = prefix + STATE_DIR
  const compare: ICompare[] = [
    { key: Buffer.from(prefix), range_end: Buffer.from(state), target: 'Mod', result: 'Less', mod_revision: current.revision + 1 },
    { key: prefixEnd(state), range_end: prefixEnd(prefix), target: 'Mod', result: 'Less', mod_revision: current.revision + 1 },
    ...[...current.objects].map(([rel, o]): ICompare => ({ key: Buffer.from(prefix + rel), target: 'Mod', result: 'Equal', mod_revision: o.modRevision })),
  ]
  const success: IRequestOp[] = [
    ...[...plan.add, ...plan.change].map(([rel, d]): IRequestOp => ({ request_put: { key: Buffer.from(prefix + rel), value: Buffer.from(d.text) } })),
    ...plan.remove.map((rel): IRequestOp => ({ request_delete_range: { key: Buffer.from(prefix + rel) } })),
    ...(meta ? [{ request_put: { key: Buffer.from(prefix + PUSH_META_KEY), value: Buffer.from(JSON.stringify(meta)) } }] : []),
  ]
  if (compare.length > MAX_TXN_OPS || success.length > MAX_TXN_OPS) {
    return { ok: false, message: `${Math.max(compare.length, success.length)} operations exceed one etcd transaction (${MAX_TXN_OPS} by default, etcd's --max-txn-ops); nothing pushed` }
  }
  const res = await client.kv.txn({ compare, success, failure: [] })
  if (!res.succeeded) {
    return {
      ok: false,
      message:
        `${prefix} changed since it was read at revision ${current.revision} (now ${res.header.revision}): ` +
        `another push or a direct write got there first. Nothing was written; run 'switchyard config diff' and push again.`,
    }
  }
  const revision = Number(res.header.revision)
  return { ok: true, revision, message: `${prefix}: pushed at etcd revision ${revision}: ${summary(plan)}` }
}

export function printDiff(plan: Plan, current: Current, prefix: string): number {
  const keys = [...plan.add.keys(), ...plan.change.keys(), ...plan.remove].sort()
  for (const rel of keys) {
    if (plan.add.has(rel)) {
      console.log(`+ ${prefix}${rel}`)
      for (const l of lines(plan.add.get(rel)!.text)) console.log(`    + ${l}`)
    } else if (plan.change.has(rel)) {
      console.log(`~ ${prefix}${rel}`)
      for (const l of lineDiff(lines(current.objects.get(rel)!.text), lines(plan.change.get(rel)!.text))) console.log(`    ${l}`)
    } else console.log(`- ${prefix}${rel}`)
  }
  console.log(keys.length ? `${summary(plan)} (against etcd revision ${current.revision})` : `${prefix}: up to date (etcd revision ${current.revision})`)
  return 0
}

function pull(current: Current, dir: string, prefix: string): number {
  mkdirSync(dir, { recursive: true })
  for (const [rel, o] of [...current.objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const { kind, name } = parseRelKey(rel)!
    const file = name === undefined ? join(dir, `${kind}.yaml`) : join(dir, kind, `${name}.yaml`)
    if (name !== undefined) mkdirSync(join(dir, kind), { recursive: true })
    writeFileSync(file, `# ${prefix}${rel} at etcd revision ${current.revision}\n${wrapValue(kind, o.text.replace(/\s+$/, ''))}\n`)
  }
  console.log(`${prefix}: pulled ${current.objects.size} objects (etcd revision ${current.revision}) into ${dir}`)
  return 0
}

export const lines = (text: string) => text.replace(/\n$/, '').split('\n')

/** Line diff (LCS) of two short texts: unchanged lines indented, others marked -/+. */
export function lineDiff(a: string[], b: string[]): string[] {
  const n = a.length
  const m = b.length
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  const out: string[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) (out.push(`  ${a[i]}`), i++, j++)
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) out.push(`- ${a[i++]}`)
    else out.push(`+ ${b[j++]}`)
  }
  return out
}
