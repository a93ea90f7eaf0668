/**
 * The proxy-wasm ABI subset Switchyard hosts (v0.2.0 / v0.2.1, github.com/proxy-wasm/spec): the
 * names both threads agree on. The compiler refuses a module importing anything else (a located
 * error); the worker's host (runtime/plugins/wasm/host.ts) implements exactly these. docs/plugins.md
 * holds the table; test/shared/proxy-wasm-abi.test.ts keeps the three in step.
 */

/** Host functions implemented in full. */
export const HOST_FUNCTIONS = [
  'proxy_log',
  'proxy_get_log_level',
  'proxy_get_current_time_nanoseconds',
  'proxy_get_property',
  'proxy_get_buffer_bytes',
  'proxy_get_buffer_status',
  'proxy_set_buffer_bytes',
  'proxy_get_header_map_pairs',
  'proxy_set_header_map_pairs',
  'proxy_get_header_map_size',
  'proxy_get_header_map_value',
  'proxy_replace_header_map_value',
  'proxy_add_header_map_value',
  'proxy_remove_header_map_value',
  'proxy_send_local_response',
  'proxy_get_shared_data',
  'proxy_set_shared_data',
  'proxy_continue_stream',
  'proxy_set_effective_context',
  'proxy_done',
] as const

/**
 * Host functions a plugin may import (SDKs reference them) but that answer `UNIMPLEMENTED` (12):
 * out-of-band calls, timers, queues, metrics, foreign functions. A plugin that needs one fails
 * at its call, not at load.
 */
export const UNIMPLEMENTED_FUNCTIONS = [
  'proxy_http_call',
  'proxy_grpc_call',
  'proxy_grpc_stream',
  'proxy_grpc_send',
  'proxy_grpc_cancel',
  'proxy_grpc_close',
  'proxy_get_status',
  'proxy_set_tick_period_milliseconds',
  'proxy_register_shared_queue',
  'proxy_resolve_shared_queue',
  'proxy_enqueue_shared_queue',
  'proxy_dequeue_shared_queue',
  'proxy_define_metric',
  'proxy_record_metric',
  'proxy_increment_metric',
  'proxy_get_metric',
  'proxy_call_foreign_function',
  'proxy_set_property',
  'proxy_close_stream',
] as const

/** The WASI preview1 functions the spec lists for `wasm32-wasi` plugins (module `wasi_snapshot_preview1`). */
export const WASI_FUNCTIONS = [
  'fd_write',
  'clock_time_get',
  'random_get',
  'environ_sizes_get',
  'environ_get',
  'args_sizes_get',
  'args_get',
  'proc_exit',
  'sched_yield',
] as const

export const WASI_MODULE = 'wasi_snapshot_preview1'

/** Exports that mark a module as speaking an ABI version we host. */
export const ABI_MARKERS = ['proxy_abi_version_0_2_1', 'proxy_abi_version_0_2_0'] as const

/** The mutable i32 global the compiler adds and exports: fuel left for the callback running now. */
export const FUEL_GLOBAL = '__switchyard_fuel'

/** The mutable i32 global the compiler adds and exports: set to 1 when a memory.grow failed (the memory limit). */
export const OOM_GLOBAL = '__switchyard_oom'

/** Whether `module.name` is an import the host provides. */
export function isHostedImport(module: string, name: string): boolean {
  if (module === 'env') return (HOST_FUNCTIONS as readonly string[]).includes(name) || (UNIMPLEMENTED_FUNCTIONS as readonly string[]).includes(name)
  if (module === WASI_MODULE) return (WASI_FUNCTIONS as readonly string[]).includes(name)
  return false
}
