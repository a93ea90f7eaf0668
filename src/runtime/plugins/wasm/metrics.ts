/**
 * The worker's WASM plugin counters, reported with its other series on every scrape (worker.ts)
 * once any WASM plugin was built in it. Label values are config names and a fixed reason list.
 */
import { CounterFamily, SEP, type MetricJSON } from '../../telemetry/metric-store.js'

export type TrapReason = 'out_of_fuel' | 'memory_limit' | 'out_of_bounds' | 'unreachable' | 'stack_overflow' | 'trap' | 'proc_exit' | 'abi_violation' | 'host_error'

const traps = new CounterFamily(
  'switchyard_wasm_plugin_traps_total',
  'WASM plugin traps by plugin and reason (out_of_fuel, memory_limit, out_of_bounds, unreachable, stack_overflow, trap, proc_exit, abi_violation, host_error); each failed the request it ran for and retired the VM.',
  ['plugin', 'reason'],
)
const vmStarts = new CounterFamily('switchyard_wasm_plugin_vm_starts_total', 'WASM plugin VMs started: one per worker per snapshot, plus one after each trap.', ['plugin'])
let used = false

export function countTrap(plugin: string, reason: TrapReason): void {
  used = true
  const key = plugin + SEP + reason
  ;(traps.get(key) ?? traps.add(key, [plugin, reason])).value++
}

export function countVmStart(plugin: string): void {
  used = true
  ;(vmStarts.get(plugin) ?? vmStarts.add(plugin, [plugin])).value++
}

/** The families to report: none until a WASM plugin existed in this worker. */
export function wasmPluginFamilies(): MetricJSON[] {
  return used ? [traps.toJSON(), vmStarts.toJSON()] : []
}
