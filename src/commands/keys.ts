/**
 * switchyard keys create|list|revoke: the file and etcd sides around src/shared/key-records.ts.
 *
 * A file is edited through yaml's Document API (comments and order kept), and the edited config
 * is compiled before anything is written, so a key for an unknown tenant (or a config broken
 * otherwise) writes nothing. In etcd each key is one object, `<prefix>keys/<id>`, written with a
 * guard: create only if absent, revoke only if unchanged since read.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseYaml, parseDocument } from 'yaml'
import { compileConfig, formatDiagnostic, readPathSources, type SourceText } from '../compiler/index.js'
import { addKeyRecord, createKeyRecord, listKeyRecords, revokeKeyRecord } from '../shared/key-records.js'
import { KEY_ID_RE } from '../shared/api-key-format.js'
import { UsageError } from './flags.js'
import type { EtcdTarget } from './etcd-options.js'
import { announce, printListing, type CreateOptions } from './keys-output.js'
export type { CreateOptions } from './keys-output.js'

export type KeysTarget = { readonly file: string } | { readonly etcd: EtcdTarget }


export async function keysCommand(sub: 'create' | 'list' | 'revoke', target: KeysTarget, options: { create?: CreateOptions; id?: string }): Promise<number> {
  try {
    if ('file' in target) {
      if (sub === 'create') return createInFiles(target.file, options.create!)
      if (sub === 'list') return printListing(filesOf(target.file).flatMap((f) => listKeyRecords(parseDocument(f.text))))
      return revokeInFiles(target.file, options.id!)
    }
    const { etcdKeys } = await import('./keys-etcd.js')
    return await etcdKeys(sub, target.etcd, options)
  } catch (e) {
    if (e instanceof UsageError) throw e
    console.error(`switchyard keys ${sub}: ${(e as Error).message}`)
    return 1
  }
}

function filesOf(path: string): SourceText[] {
  if (!existsSync(path)) throw new Error(`${path} does not exist`)
  return readPathSources(path)
}

function createInFiles(path: string, o: CreateOptions): number {
  if (o.id !== undefined && !KEY_ID_RE.test(o.id)) throw new UsageError(`--id '${o.id}': 1-40 characters of a-z, 0-9 and '-', not starting or ending with '-'`)
  const sources = filesOf(path)
  // In a directory: the file that already lists keys, else a new keys.yaml beside the others.
  const isDir = statSync(path).isDirectory()
  const holder = isDir ? sources.find((s) => hasKeysList(s.text)) : sources[0]
  const name = holder?.name ?? join(path, 'keys.yaml')
  const doc = parseDocument(holder?.text ?? '')
  const taken = sources.flatMap((s) => listKeyRecords(parseDocument(s.text))).map((k) => k.id)
  if (o.id !== undefined && taken.includes(o.id)) throw new UsageError(`key id '${o.id}' is already in use`)
  const { key, record } = createKeyRecord(o, Date.now())
  addKeyRecord(doc, record)
  const text = doc.toString()
  const next = holder ? sources.map((s) => (s === holder ? { ...s, text } : s)) : [...sources, { name, text, baseDir: resolve(path) }]
  if (!compiles(next, `key not written to ${name}`)) return 1
  writeFileSync(name, text)
  announce(key, record, name)
  return 0
}

function revokeInFiles(path: string, id: string): number {
  for (const s of filesOf(path)) {
    const doc = parseDocument(s.text)
    const r = revokeKeyRecord(doc, id)
    if (r === 'unknown') continue
    if (r === 'already') console.error(`key '${id}' in ${s.name} was already revoked`)
    else {
      writeFileSync(s.name, doc.toString())
      console.error(`key '${id}' revoked in ${s.name}; a running gateway refuses it within a second`)
    }
    return 0
  }
  console.error(`switchyard keys revoke: no key '${id}' in ${path}`)
  return 1
}

function hasKeysList(text: string): boolean {
  try {
    const v = parseYaml(text) as Record<string, unknown> | null
    return v !== null && typeof v === 'object' && Array.isArray(v.keys)
  } catch {
    return false
  }
}

/** Compiles `sources` without reading secrets; prints the diagnostics when they do not compile. */
export function compiles(sources: readonly SourceText[], outcome: string): boolean {
  const r = compileConfig(sources, { source: 'keys', secrets: 'collect' })
  if (r.ok) return true
  for (const d of r.diagnostics) console.error(formatDiagnostic(d))
  console.error(`${r.diagnostics.length} error${r.diagnostics.length === 1 ? '' : 's'}; ${outcome}`)
  return false
}

/** `--models a,b --models c` → [a, b, c]. */
export function modelList(values: readonly string[] | undefined): string[] | undefined {
  const out = (values ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean)
  return out.length ? out : undefined
}
