/**
 * The main thread's own series: which config serves, how reloads went, how many workers run.
 * Plain metric JSON (the shape the workers send), read at scrape time from the supervisor's parts.
 */
import type { SnapshotIR } from '../../compiler/ir.js'
import type { MetricJSON } from '../../runtime/telemetry/metric-store.js'
import { logSettings } from '../../shared/log.js'

export interface ControlView {
  readonly ir: SnapshotIR
  /** When `ir` was accepted (ISO time). */
  readonly loadedAt: string
  readonly reloads: { readonly applied: number; readonly unchanged: number; readonly rejected: number }
  readonly lastReloadOk: boolean | undefined
  readonly workers: number
}

export function controlFamilies(v: ControlView): MetricJSON[] {
  return [
    { name: 'switchyard_config_info', help: 'The config version serving (its content hash), always 1.', type: 'gauge', aggregator: 'sum', values: [{ labels: { version: v.ir.version }, value: 1 }] },
    { name: 'switchyard_config_loaded_timestamp_seconds', help: 'When the serving config was accepted (Unix time).', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: Date.parse(v.loadedAt) / 1000 }] },
    {
      name: 'switchyard_config_reloads_total', help: 'Reload passes by result: applied (a new version), unchanged (same content), rejected (invalid: the last good config keeps serving).', type: 'counter', aggregator: 'sum',
      values: (['applied', 'unchanged', 'rejected'] as const).map((result) => ({ labels: { result }, value: v.reloads[result] })),
    },
    { name: 'switchyard_config_last_reload_successful', help: 'Whether the latest reload pass compiled (1) or was rejected (0); 1 before any reload.', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: v.lastReloadOk === false ? 0 : 1 }] },
    { name: 'switchyard_workers', help: 'Worker threads running.', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: v.workers }] },
    // The workers report theirs with thread="worker" (runtime/telemetry/request-metrics.ts logLinesDropped: same name and help).
    {
      name: 'switchyard_log_lines_dropped_total', help: 'Log lines dropped because the log destination (stderr) did not keep up; requests never wait for it.',
      type: 'counter', aggregator: 'sum', values: [{ labels: { thread: 'main' }, value: logSettings().dropped }],
    },
  ]
}
