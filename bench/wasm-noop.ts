// Row (d+w)'s plugin: a proxy-wasm module that exports every stream callback a typical SDK plugin
// has (context create, request and response headers, done, delete) and does nothing in them, so the
// row measures the per-request cost of hosting a WASM plugin: five callbacks, fuel refills, the
// request's context. Built from WAT with wabt at bench start (nothing binary checked in).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import wabtInit from 'wabt'

export const NOOP_WAT = `(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))`

/** Writes `noop.wasm` into `dir`; returns its path. */
export async function writeNoopPlugin(dir: string): Promise<string> {
  const wabt = await wabtInit()
  const m = wabt.parseWat('noop.wat', NOOP_WAT)
  const path = join(dir, 'noop.wasm')
  writeFileSync(path, m.toBinary({}).buffer)
  m.destroy()
  return path
}
