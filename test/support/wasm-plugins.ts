/**
 * proxy-wasm test plugins, written in WAT and built here with wabt (the suite builds its plugins
 * from source; nothing binary is checked in). Each is a complete ABI v0.2.1 module: memory, the
 * ABI marker, a bump allocator (reset at the start of each callback that allocates), and the
 * callbacks of its one job. Strings live in a data segment: `$S.name` stands for its pointer and
 * length, `$P.name` / `$L.name` for either.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import wabtInit from 'wabt'

const IMPORTS = `
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $remove_header (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send_local (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))`

/** Memory, marker, allocator and small helpers every plugin shares. Scratch: 0..63; strings from 1024; heap from 65536. */
const RUNTIME = `
  (memory (export "memory") 2)
  (global $base (mut i32) (i32.const 65536))
  (global $heap (mut i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_1"))
  (func $reset (global.set $heap (global.get $base)))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32) (local $need i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.set $need (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (local.get $need) (i32.const 16)) (i32.const 1))) (i32.const -1)) (then (unreachable)))))
    (local.get $p))
  ;; Same-length replacement of every occurrence of needle in [p, p+len).
  (func $replace (param $p i32) (param $len i32) (param $needle i32) (param $nlen i32) (param $repl i32)
    (local $i i32) (local $j i32)
    (block $done (loop $scan
      (br_if $done (i32.gt_u (i32.add (local.get $i) (local.get $nlen)) (local.get $len)))
      (local.set $j (i32.const 0))
      (block $miss
        (loop $cmp
          (br_if $miss (i32.ne (i32.load8_u (i32.add (i32.add (local.get $p) (local.get $i)) (local.get $j))) (i32.load8_u (i32.add (local.get $needle) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $cmp (i32.lt_u (local.get $j) (local.get $nlen))))
        (local.set $j (i32.const 0))
        (loop $copy
          (i32.store8 (i32.add (i32.add (local.get $p) (local.get $i)) (local.get $j)) (i32.load8_u (i32.add (local.get $repl) (local.get $j))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $copy (i32.lt_u (local.get $j) (local.get $nlen)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan))))
  ;; Decimal digits of v, ending at byte 64; returns where they start.
  (func $itoa (param $v i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 64))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $l (local.get $v)))
    (local.get $p))`

/** A serialized proxy-wasm header map, as WAT string escapes. */
function pairs(list: [string, string][]): string {
  const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].map((b) => '\\' + b.toString(16).padStart(2, '0')).join('')
  let s = u32(list.length)
  for (const [k, v] of list) s += u32(Buffer.byteLength(k)) + u32(Buffer.byteLength(v))
  for (const [k, v] of list) s += `${k}\\00${v}\\00`
  return s
}

function module(strings: Record<string, string>, body: string): string {
  let at = 1024
  const where = new Map<string, { at: number; len: number }>()
  let data = ''
  for (const [name, raw] of Object.entries(strings)) {
    // Length of the bytes the WAT escapes stand for.
    const len = Buffer.byteLength(raw.replace(/\\[0-9a-f]{2}/g, '.'))
    where.set(name, { at, len })
    data += `  (data (i32.const ${at}) "${raw}")\n`
    at += len + 8
  }
  const text = body.replace(/\$([SPL])\.([a-z_]+)/g, (_m, kind: string, name: string) => {
    const w = where.get(name)
    if (!w) throw new Error(`no string ${name}`)
    return kind === 'S' ? `(i32.const ${w.at}) (i32.const ${w.len})` : kind === 'P' ? `(i32.const ${w.at})` : `(i32.const ${w.len})`
  })
  return `(module${IMPORTS}\n${RUNTIME}\n${data}\n${text})`
}

const HEADERS_CB = '(param $c i32) (param $n i32) (param $eos i32) (result i32)'

export const PLUGINS = {
  /** Every stream callback, doing nothing: the per-request cost of a plugin. */
  noop: module({}, `
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") ${HEADERS_CB} (i32.const 0))
  (func (export "proxy_on_response_headers") ${HEADERS_CB} (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))`),

  /**
   * Request: adds `x-wasm-seen: 1` upstream, counts requests in shared data. Response: adds
   * `x-wasm-config` (its configuration), `x-wasm-route`, `x-wasm-path`, `x-wasm-cluster`
   * (properties) and `x-wasm-count`. Logs "configured" at start.
   */
  headers: module({
    seen: 'x-wasm-seen', one: '1', config: 'x-wasm-config', route_h: 'x-wasm-route', route_p: 'route_name',
    path_h: 'x-wasm-path', path_p: 'request\\00path', cluster_h: 'x-wasm-cluster', cluster_p: 'cluster_name',
    count_k: 'count', count_h: 'x-wasm-count', configured: 'configured', bad_p: 'no\\00such\\00property', missing: 'x-wasm-missing',
  }, `
  (global $cfgPtr (mut i32) (i32.const 0))
  (global $cfgLen (mut i32) (i32.const 0))
  (global $count (mut i32) (i32.const 0))
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.eqz (call $get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
      (then (global.set $cfgPtr (i32.load (i32.const 0))) (global.set $cfgLen (i32.load (i32.const 4)))))
    (global.set $base (global.get $heap))
    (drop (call $log (i32.const 2) $S.configured))
    (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") ${HEADERS_CB}
    (local $v i32)
    (call $reset)
    (drop (call $add_header (i32.const 0) $S.seen $S.one))
    (if (i32.eqz (call $get_shared $S.count_k (i32.const 0) (i32.const 4) (i32.const 8)))
      (then (local.set $v (i32.load (i32.load (i32.const 0))))))
    (local.set $v (i32.add (local.get $v) (i32.const 1)))
    (i32.store (i32.const 32) (local.get $v))
    (drop (call $set_shared $S.count_k (i32.const 32) (i32.const 4) (i32.const 0)))
    (global.set $count (local.get $v))
    (i32.const 0))
  (func $copy_property (param $pp i32) (param $pl i32) (param $hp i32) (param $hl i32)
    (if (i32.eqz (call $get_property (local.get $pp) (local.get $pl) (i32.const 0) (i32.const 4)))
      (then (drop (call $replace_header (i32.const 2) (local.get $hp) (local.get $hl) (i32.load (i32.const 0)) (i32.load (i32.const 4)))))))
  (func (export "proxy_on_response_headers") ${HEADERS_CB}
    (local $p i32)
    (call $reset)
    (drop (call $add_header (i32.const 2) $S.config (global.get $cfgPtr) (global.get $cfgLen)))
    (call $copy_property $S.route_p $S.route_h)
    (call $copy_property $S.path_p $S.path_h)
    (call $copy_property $S.cluster_p $S.cluster_h)
    (call $copy_property $S.bad_p $S.missing)
    (local.set $p (call $itoa (global.get $count)))
    (drop (call $replace_header (i32.const 2) $S.count_h (local.get $p) (i32.sub (i32.const 64) (local.get $p))))
    (i32.const 0))`),

  /** Request body: SECRET → ******. Response body: held until the end (PAUSE), then Hello → HOWDY. */
  body: module({ secret: 'SECRET', stars: '******', hello: 'Hello', howdy: 'HOWDY' }, `
  (func (export "proxy_on_request_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
    (call $reset)
    (if (i32.eqz (call $get_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
      (then
        (call $replace (i32.load (i32.const 0)) (i32.load (i32.const 4)) $S.secret $P.stars)
        (drop (call $set_buffer_bytes (i32.const 0) (i32.const 0) (i32.load (i32.const 4)) (i32.load (i32.const 0)) (i32.load (i32.const 4))))))
    (i32.const 0))
  (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (call $reset)
    (if (i32.eqz (call $get_buffer_bytes (i32.const 1) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
      (then
        (call $replace (i32.load (i32.const 0)) (i32.load (i32.const 4)) $S.hello $P.howdy)
        (drop (call $set_buffer_bytes (i32.const 1) (i32.const 0) (i32.load (i32.const 4)) (i32.load (i32.const 0)) (i32.load (i32.const 4))))))
    (i32.const 0))`),

  /** `x-deny`: 403 with no body (the gateway answers in the caller's protocol); `x-deny-body`: 429 with its own text body. */
  deny: module({
    deny: 'x-deny', deny_body: 'x-deny-body', details: 'denied by policy', none: '',
    deny_headers: pairs([['x-denied-by', 'wasm']]), text_headers: pairs([['content-type', 'text/plain'], ['x-denied-by', 'wasm']]), slow: 'slow down',
  }, `
  (func (export "proxy_on_request_headers") ${HEADERS_CB}
    (call $reset)
    (if (i32.eqz (call $get_header (i32.const 0) $S.deny (i32.const 0) (i32.const 4)))
      (then
        (drop (call $send_local (i32.const 403) $S.details $S.none $S.deny_headers (i32.const -1)))
        (return (i32.const 1))))
    (if (i32.eqz (call $get_header (i32.const 0) $S.deny_body (i32.const 0) (i32.const 4)))
      (then
        (drop (call $send_local (i32.const 429) $S.none $S.slow $S.text_headers (i32.const -1)))
        (return (i32.const 1))))
    (i32.const 0))`),

  /** `x-spin`: loops forever in proxy_on_request_headers (fuel). */
  spin: module({ spin: 'x-spin' }, `
  (func (export "proxy_on_request_headers") ${HEADERS_CB}
    (call $reset)
    (if (i32.eqz (call $get_header (i32.const 0) $S.spin (i32.const 0) (i32.const 4)))
      (then (loop $forever (br $forever))))
    (i32.const 0))`),

  /** `x-hog`: grows memory until it cannot, then traps (memory limit). */
  hog: module({ hog: 'x-hog' }, `
  (func (export "proxy_on_request_headers") ${HEADERS_CB}
    (call $reset)
    (if (i32.eqz (call $get_header (i32.const 0) $S.hog (i32.const 0) (i32.const 4)))
      (then
        (block $full (loop $grow (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $grow)))
        (unreachable)))
    (i32.const 0))`),

  /**
   * `x-trap: headers` → unreachable in proxy_on_request_headers; `oob` → a load out of bounds;
   * `response` → unreachable in proxy_on_response_headers; `body` → unreachable on the second
   * response-body chunk (a stream already under way).
   */
  trap: module({ trap: 'x-trap' }, `
  (global $mode (mut i32) (i32.const 0))
  (global $chunks (mut i32) (i32.const 0))
  (func (export "proxy_on_context_create") (param i32 i32) (global.set $mode (i32.const 0)) (global.set $chunks (i32.const 0)))
  (func (export "proxy_on_request_headers") ${HEADERS_CB}
    (local $first i32)
    (call $reset)
    (if (i32.eqz (call $get_header (i32.const 0) $S.trap (i32.const 0) (i32.const 4)))
      (then
        (local.set $first (i32.load8_u (i32.load (i32.const 0))))
        (if (i32.eq (local.get $first) (i32.const 104)) (then (unreachable)))
        (if (i32.eq (local.get $first) (i32.const 111)) (then (drop (i32.load (i32.const -16)))))
        (if (i32.eq (local.get $first) (i32.const 114)) (then (global.set $mode (i32.const 1))))
        (if (i32.eq (local.get $first) (i32.const 98)) (then (global.set $mode (i32.const 2))))))
    (i32.const 0))
  (func (export "proxy_on_response_headers") ${HEADERS_CB}
    (if (i32.eq (global.get $mode) (i32.const 1)) (then (unreachable)))
    (i32.const 0))
  (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
    (global.set $chunks (i32.add (global.get $chunks) (i32.const 1)))
    (if (i32.and (i32.eq (global.get $mode) (i32.const 2)) (i32.ge_u (global.get $chunks) (i32.const 2))) (then (unreachable)))
    (i32.const 0))`),

  /** Imports a host function outside the subset: the compiler must refuse it, naming the import. */
  unknownImport: `(module
  (import "env" "proxy_open_the_pod_bay_doors" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024)))`,

  /** Rejects its configuration unless it is exactly `ok`. */
  picky: module({ ok: 'ok' }, `
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.ne (local.get $size) (i32.const 2)) (then (return (i32.const 0))))
    (drop (call $get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
    (i32.eq (i32.load16_u (i32.load (i32.const 0))) (i32.load16_u $P.ok)))`),
} as const

export type PluginName = keyof typeof PLUGINS

let wabt: Awaited<ReturnType<typeof wabtInit>> | undefined

/** The plugin's module bytes, built from its WAT. */
export async function buildPlugin(name: PluginName | string, wat: string = PLUGINS[name as PluginName]): Promise<Uint8Array> {
  wabt ??= await wabtInit()
  const m = wabt.parseWat(`${name}.wat`, wat)
  try {
    return m.toBinary({}).buffer
  } finally {
    m.destroy()
  }
}

/** Builds plugins into `dir` as `<name>.wasm`; returns the paths by name. */
export async function writePlugins(dir: string, names: readonly PluginName[]): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true })
  const out: Record<string, string> = {}
  for (const n of names) {
    out[n] = join(dir, `${n}.wasm`)
    writeFileSync(out[n], await buildPlugin(n))
  }
  return out
}
