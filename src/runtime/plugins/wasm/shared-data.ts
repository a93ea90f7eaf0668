/**
 * proxy_get_shared_data / proxy_set_shared_data: one key-value store per worker thread, shared by
 * every WASM plugin in it (Envoy scopes it by vm_id; ours is the one default VM id). It lives in
 * the worker, not in a VM: values survive snapshot swaps and VM re-creation after a trap. Not
 * shared between workers or hosts (use Redis-backed filters for that). Bounded in bytes.
 */

const MAX_BYTES = 64 * 1024 * 1024

interface Entry {
  readonly value: Uint8Array
  readonly cas: number
}

const entries = new Map<string, Entry>()
let bytes = 0
let nextCas = 1

export type SetResult = 'ok' | 'cas_mismatch' | 'full'

export function getShared(key: string): Entry | undefined {
  return entries.get(key)
}

/** `cas` 0 writes unconditionally; otherwise it must match the entry's (when there is one). */
export function setShared(key: string, value: Uint8Array, cas: number): SetResult {
  const old = entries.get(key)
  if (cas !== 0 && old !== undefined && old.cas !== cas) return 'cas_mismatch'
  const delta = key.length + value.length - (old ? key.length + old.value.length : 0)
  if (bytes + delta > MAX_BYTES) return 'full'
  bytes += delta
  entries.set(key, { value: value.slice(), cas: nextCas++ })
  if (nextCas > 0xffffffff) nextCas = 1
  return 'ok'
}

/** Tests: a clean store. */
export function clearShared(): void {
  entries.clear()
  bytes = 0
}
