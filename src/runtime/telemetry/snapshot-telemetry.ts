/**
 * What the telemetry signals install on a snapshot (build/snapshot.ts): attempt observers on every
 * route and onComplete filters last on every chain. Each signal makes its own (metrics, tracing);
 * the worker combines them into one, so the request path runs one observer list per hook.
 */
import type { CompiledAttemptObservers, Filter } from '../types.js'

export interface SnapshotTelemetry {
  readonly observers: CompiledAttemptObservers
  readonly filters: readonly Filter[]
}

/** Every signal's hooks in one set; undefined when no signal installs anything (then nothing runs). */
export function combineTelemetry(...parts: readonly (SnapshotTelemetry | undefined)[]): SnapshotTelemetry | undefined {
  const on = parts.filter((p): p is SnapshotTelemetry => p !== undefined)
  if (on.length <= 1) return on[0]
  const hook = <K extends keyof CompiledAttemptObservers>(k: K) => on.flatMap((p) => p.observers[k])
  return {
    observers: Object.freeze({ onAttemptStart: hook('onAttemptStart'), onResponseStart: hook('onResponseStart'), onResponseChunk: hook('onResponseChunk'), onAttemptEnd: hook('onAttemptEnd'), onAttemptFailed: hook('onAttemptFailed') }),
    filters: on.flatMap((p) => p.filters),
  }
}
