import type { SourceText } from '../../compiler/index.js'
import type { Diagnostic } from '../../compiler/diagnostics.js'

/** Where config comes from: files, etcd, … The supervisor compiles whatever load() returns. */
export interface ConfigSource {
  /** Shown as the snapshot's source, e.g. `file:examples/quickstart.yaml`. */
  readonly description: string
  /** The whole config as it is now; `version` overrides the content hash (e.g. an etcd revision). */
  load(): Promise<{ sources: SourceText[]; version?: string }>
  /** Calls onChange (possibly in bursts) whenever load() may return something new. */
  watch(onChange: () => void): void
  /**
   * Also watch these files (the WASM and plugin modules the last compile read), replacing the previous set:
   * a change to one is a config change. Sources that hold no files (etcd) leave it out.
   */
  watchFiles?(paths: readonly string[]): void
  close(): Promise<void>
  /** Connection state for /ready (e.g. etcd reachable or not); absent for sources that cannot fail. */
  health?(): { ok: boolean; detail: string }
  /** Who pushed what the last load() read, when the source records it (etcd: `config push --message`). */
  lastPush?(): import('../config-history.js').PushMeta | undefined
  /**
   * Where hosts reading this source share their rollout state (etcd: under the prefix); absent for
   * sources one process reads alone. Asked once, after the first load.
   */
  rolloutStore?(): import('../rollout-state.js').RolloutStore | undefined
  /** Maps diagnostics on the texts of the last load() back to what the user wrote (etcd wraps each value). */
  mapDiagnostic?(d: Diagnostic): Diagnostic
}
