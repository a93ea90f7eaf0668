/**
 * proxy_get_property: the documented set (docs/plugins.md). A path arrives as segments separated
 * by NUL (`request\0path`); Envoy's names where Envoy has one. Strings are their UTF-8 bytes;
 * `response.code` is a little-endian int64 as in Envoy. Anything else is NOT_FOUND.
 */
import type { RequestContext } from '../../types.js'
import { peerOf } from '../../identity/peer.js'

type Getter = (ctx: RequestContext | undefined, plugin: string) => string | Uint8Array | undefined

const str = (f: (ctx: RequestContext) => string | undefined): Getter => (ctx) => (ctx === undefined ? undefined : f(ctx))

const GETTERS: Readonly<Record<string, Getter>> = {
  'request.path': str((c) => (c.head.query ? `${c.head.path}?${c.head.query}` : c.head.path)),
  'request.url_path': str((c) => c.head.path),
  'request.query': str((c) => c.head.query),
  'request.method': str((c) => c.head.method),
  'request.host': str((c) => c.headers.host),
  'request.scheme': str(() => 'http'),
  'request.protocol': str(() => 'HTTP/1.1'),
  'request.id': str((c) => c.requestId),
  'response.code': (ctx) => (ctx === undefined || ctx.status === 0 ? undefined : int64(ctx.status)),
  route_name: str((c) => c.route?.name),
  'xds.route_name': str((c) => c.route?.name),
  cluster_name: str((c) => c.cluster?.name),
  'xds.cluster_name': str((c) => c.cluster?.name),
  'source.address': str((c) => peerOf(c) || undefined),
  plugin_name: (_ctx, plugin) => plugin,
  plugin_root_id: () => '',
  plugin_vm_id: () => '',
  'switchyard.listener': str((c) => c.listener.name),
  'switchyard.protocol': str((c) => c.protocol),
  'switchyard.model': str((c) => c.head.model),
  'switchyard.served_model': str((c) => c.servedModel),
  'switchyard.tenant': str((c) => c.head.identity?.tenant),
  'switchyard.key_id': str((c) => c.head.identity?.keyId),
}

/** The documented property names, for docs and tests. */
export const PROPERTY_NAMES: readonly string[] = Object.keys(GETTERS)

export function getProperty(path: string, ctx: RequestContext | undefined, plugin: string): Uint8Array | undefined {
  const g = GETTERS[path.split('\0').filter(Boolean).join('.')]
  const v = g?.(ctx, plugin)
  if (v === undefined) return undefined
  return typeof v === 'string' ? Buffer.from(v) : v
}

function int64(n: number): Uint8Array {
  const b = Buffer.alloc(8)
  b.writeBigInt64LE(BigInt(n))
  return b
}
