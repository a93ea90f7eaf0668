/**
 * How config objects sit in etcd: one key per object under a prefix,
 *   <prefix>listeners/<name>  <prefix>routes/<name>  <prefix>clusters/<name>  <prefix>filters/<name>
 *   <prefix>tenants/<name>    <prefix>keys/<id>      <prefix>models/<name>   <prefix>admin   <prefix>runtime   <prefix>redis   <prefix>prices   <prefix>telemetry   <prefix>log
 * each value one YAML (or JSON) document holding that object alone. Other keys under the prefix
 * are ignored (and never deleted by `config push`); `.meta/` and `.state/` are the gateways' own.
 *
 * The compiler reads whole config documents, so a value is handed to it wrapped in its kind
 * (`clusters:\n- <value, indented>`). The wrapper adds one line above the value and two columns
 * before each of its lines; `unwrapDiagnostic` takes them off again, so errors point at the value
 * as stored: `<key>:<line>:<col>`.
 */
import type { Diagnostic } from '../../compiler/diagnostics.js'

export const LIST_KINDS = ['listeners', 'routes', 'clusters', 'filters', 'tenants', 'keys', 'models'] as const
export const SINGLETONS = ['admin', 'runtime', 'redis', 'prices', 'telemetry', 'log'] as const
export type ListKind = (typeof LIST_KINDS)[number]
export type Singleton = (typeof SINGLETONS)[number]
export type ObjectKind = ListKind | Singleton

/**
 * Beside the objects, `config push` records who pushed and why (JSON: message, user, host, at)
 * under this key; sources read it for the config history, the compiler never sees it.
 */
export const PUSH_META_KEY = '.meta/push'

/**
 * State the gateways keep beside the config (rollout records: etcd-rollout-state.ts). It changes
 * while the config does not: the loader skips it, a change under it is no reload, it does not
 * move the config version, and `config push` neither guards on it nor deletes it.
 */
export const STATE_DIR = '.state/'

/** `key` (a full key under `prefix`) is gateway state, not config. */
export function isStateKey(prefix: string, key: string): boolean {
  return key.startsWith(STATE_DIR, prefix.length) && key.startsWith(prefix)
}

/** `/switchyard/prod` → `/switchyard/prod/`: prefixes always end in `/` so `prod` never matches `prod2`. */
export function normalizePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`
}

/** `clusters/openai` → `{ kind: 'clusters', name: 'openai' }`; `admin` → `{ kind: 'admin' }`; else undefined. */
export function parseRelKey(rel: string): { kind: ObjectKind; name?: string } | undefined {
  if ((SINGLETONS as readonly string[]).includes(rel)) return { kind: rel as Singleton }
  const i = rel.indexOf('/')
  if (i < 0) return undefined
  const kind = rel.slice(0, i)
  const name = rel.slice(i + 1)
  if (!(LIST_KINDS as readonly string[]).includes(kind) || name === '' || name.includes('/')) return undefined
  return { kind: kind as ListKind, name }
}

export function relKeyOf(kind: ObjectKind, name?: string): string {
  return name === undefined ? kind : `${kind}/${name}`
}

/** One stored value as a config document for the compiler (see the file comment for the shape). */
export function wrapValue(kind: ObjectKind, value: string): string {
  const lines = value.split('\n')
  const first = (LIST_KINDS as readonly string[]).includes(kind) ? '- ' : '  '
  return `${kind}:\n${lines.map((l, i) => (i === 0 ? first : '  ') + l).join('\n')}`
}

function unwrapPos(line: number, col: number): { line: number; col: number } {
  if (line <= 1) return { line: 1, col: 1 }
  return { line: line - 1, col: Math.max(1, col - 2) }
}

/**
 * Maps a diagnostic on wrapped texts back to the stored values: position, the `clusters[0].`
 * path prefix (meaningless when a key holds one object), and `key:line:col` cited in messages
 * (e.g. "first defined at …"). `wrapped` holds the source names (keys) that were wrapped.
 */
export function unwrapDiagnostic(d: Diagnostic, wrapped: ReadonlySet<string>): Diagnostic {
  const message = d.message.replace(/(\S+):(\d+):(\d+)/g, (all, src: string, l: string, c: string) => {
    if (!wrapped.has(src)) return all
    const p = unwrapPos(Number(l), Number(c))
    return `${src}:${p.line}:${p.col}`
  })
  if (!wrapped.has(d.source)) return message === d.message ? d : { ...d, message }
  const { line, col } = unwrapPos(d.line, d.col)
  const path = d.path.replace(/^(?:(?:listeners|routes|clusters|filters|tenants|keys)\[0\]|admin|runtime)(?:\.|(?=\[)|$)/, '')
  return { ...d, line, col, path, message }
}

/** `a/b/` → the first key after every key starting with it (etcd's prefix range end). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}

/** The message of an etcd/grpc error without the library's boilerplate. */
export function etcdErrorMessage(e: unknown): string {
  const msg = (e as Error)?.message ?? String(e)
  return msg.replace(/ Please report this error at \S+/, '').replace(/\.? Resolution note: ?$/, '')
}
