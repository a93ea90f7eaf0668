/**
 * switchyard config history | diff --from --to | rollback --to: what a running gateway applied,
 * what changed between two versions, and going back to one. History and diffs come from the
 * gateway's admin API (/config/history); an etcd rollback reads the prefix as it was at that
 * revision from etcd itself and pushes it back like `config push` (guarded, audited).
 */
import { stringify as stringifyYaml, parse as parseYaml } from 'yaml'
import type { HistoryEntry } from '../control/config-history.js'
import { changesBetween, describeChanges, objectsOf } from '../control/config-history.js'
import { createEtcdClient } from '../control/sources/etcd-client.js'
import { etcdErrorMessage, parseRelKey } from '../control/sources/etcd-layout.js'
import { commitPush, lineDiff, lines, planChanges, printDiff, pushMeta, readCurrent, type Desired } from './config.js'
import type { EtcdTarget } from './etcd-options.js'

class AdminError extends Error {}

/** GET on the admin API; a user's mistake (wrong URL, gateway down, bad token) is one line, never a stack. */
async function adminGet<T>(admin: string, path: string): Promise<T> {
  const token = process.env.SWITCHYARD_ADMIN_TOKEN
  let res: Response
  try {
    res = await fetch(new URL(path, admin.endsWith('/') ? admin : admin + '/'), { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) })
  } catch (e) {
    throw new AdminError(`cannot reach the admin API at ${admin}: ${(e as Error).cause ? String(((e as Error).cause as Error).message) : (e as Error).message}`)
  }
  if (res.status === 401) throw new AdminError(`${admin}: 401; set SWITCHYARD_ADMIN_TOKEN to the gateway's admin.token`)
  if (res.status === 404) throw new AdminError(`${admin}${path}: not found${path.includes('history/') ? ' (the gateway keeps the versions applied since it started, the last 50; see config history)' : ''}`)
  if (!res.ok) throw new AdminError(`${admin}${path}: HTTP ${res.status}`)
  return (await res.json()) as T
}

function reportAdmin(cmd: string, e: unknown): number {
  if (e instanceof AdminError) {
    console.error(`switchyard ${cmd}: ${e.message}`)
    return 1
  }
  throw e
}

export async function historyCommand(admin: string, json: boolean): Promise<number> {
  try {
    const h = await adminGet<{ history: HistoryEntry[] }>(admin, 'config/history')
    if (json) console.log(JSON.stringify(h, null, 2))
    else for (const e of h.history) {
      const who = e.pushed?.user ? `  by ${e.pushed.user}@${e.pushed.host ?? '?'}` : ''
      console.log(`${e.version}  ${e.applied_at}  ${e.source}${who}`)
      if (e.pushed?.message) console.log(`    "${e.pushed.message}"`)
      console.log(`    ${describeChanges(e.changes)}`)
    }
    return 0
  } catch (e) {
    return reportAdmin('config history', e)
  }
}

/** Object-level, then line-level (as YAML), between two versions the gateway applied. */
export async function diffVersions(admin: string, from: string, to: string): Promise<number> {
  try {
    const [a, b] = await Promise.all([from, to].map((v) => adminGet<{ config: unknown }>(admin, `config/history/${encodeURIComponent(v)}`)))
    const c = changesBetween(a.config, b.config)
    const before = objectsOf(a.config)
    const after = objectsOf(b.config)
    const yaml = (json: string | undefined) => (json === undefined ? [] : lines(stringifyYaml(JSON.parse(json))))
    for (const id of [...c.added, ...c.removed, ...c.modified].sort()) {
      const sign = c.added.includes(id) ? '+' : c.removed.includes(id) ? '-' : '~'
      console.log(`${sign} ${id}`)
      for (const l of lineDiff(yaml(before.get(id)), yaml(after.get(id)))) console.log(`    ${l}`)
    }
    console.log(`${from} → ${to}: ${c.added.length} added, ${c.modified.length} changed, ${c.removed.length} removed`)
    return 0
  } catch (e) {
    return reportAdmin('config diff', e)
  }
}

/** etcd: the prefix as it was at revision `to`, written back in one guarded push. */
export async function rollbackEtcd(target: EtcdTarget, to: string, message: string | undefined): Promise<number> {
  const revision = Number(to)
  if (!Number.isInteger(revision) || revision <= 0) {
    console.error(`switchyard config rollback: --to ${to}: an etcd source's versions are etcd revisions (whole numbers); see config history`)
    return 1
  }
  const client = createEtcdClient(target.connect)
  try {
    let old
    try {
      old = await client.getAll().prefix(target.prefix).revision(revision).exec()
    } catch (e) {
      const text = etcdErrorMessage(e)
      console.error(`switchyard config rollback: revision ${revision} of ${target.prefix}: ${/compacted/i.test(text) ? 'etcd has compacted that revision away; restore from a file instead' : text}`)
      return 1
    }
    const desired = new Map<string, Desired>()
    for (const kv of old.kvs) {
      const rel = kv.key.toString().slice(target.prefix.length)
      if (!parseRelKey(rel)) continue
      const text = kv.value.toString()
      desired.set(rel, { value: parseYaml(text), text })
    }
    if (desired.size === 0) {
      console.error(`switchyard config rollback: ${target.prefix} held no config at revision ${revision}; nothing written`)
      return 1
    }
    const current = await readCurrent(client, target.prefix)
    const plan = planChanges(current, desired)
    printDiff(plan, current, target.prefix)
    const r = await commitPush(client, plan, current, target.prefix, pushMeta(message ?? `rollback to ${revision}`))
    if (r.ok) console.log(r.message.replace(': pushed at', `: rolled back to revision ${revision} at`))
    else console.error(`switchyard config rollback: ${r.message}`)
    return r.ok ? 0 : 1
  } catch (e) {
    console.error(`switchyard config rollback: etcd ${target.connect.endpoints.join(',')}: ${etcdErrorMessage(e)}`)
    return 1
  } finally {
    client.close()
  }
}

/** Files: the gateway cannot write them; print the version to restore. */
export async function rollbackFiles(admin: string, to: string): Promise<number> {
  try {
    const v = await adminGet<{ entry: HistoryEntry; config: unknown }>(admin, `config/history/${encodeURIComponent(to)}`)
    console.log(`# version ${to} as applied at ${v.entry.applied_at} from ${v.entry.source}; restore it into the config files`)
    console.log('# (secrets are shown as their references; masked literal credentials must be filled in again)')
    console.log(stringifyYaml(v.config))
    return 0
  } catch (e) {
    return reportAdmin('config rollback', e)
  }
}
