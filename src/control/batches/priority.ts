/**
 * What "lower priority than interactive traffic" is measured against: the requests in flight to
 * every cluster of the current config, summed over this process's workers (the shared-state
 * cluster counters the circuit breakers keep). The executor subtracts its own lines.
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import { clusterStatsAt } from '../../shared/shared-state.js'

export function clusterLoad(cells: Int32Array, ir: SnapshotIR, slots: Readonly<Record<string, number>>): number {
  let n = 0
  for (const c of ir.clusters) n += clusterStatsAt(cells, slots[`cluster:${c.name}`])?.inflight ?? 0
  return n
}
