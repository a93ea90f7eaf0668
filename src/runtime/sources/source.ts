import type { SourceText } from '../../compiler/index.js'

/** Where config comes from: files, etcd, … The supervisor compiles whatever load() returns. */
export interface ConfigSource {
  /** Shown as the snapshot's source, e.g. `file:examples/quickstart.yaml`. */
  readonly description: string
  /** The whole config as it is now; `version` overrides the content hash (e.g. an etcd revision). */
  load(): Promise<{ sources: SourceText[]; version?: string }>
  /** Calls onChange (possibly in bursts) whenever load() may return something new. */
  watch(onChange: () => void): void
  close(): Promise<void>
}
