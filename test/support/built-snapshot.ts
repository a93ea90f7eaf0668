/**
 * One config text → a built Snapshot for in-process dispatch tests: compiled (a config error fails
 * the test with its line:col), built on fresh stores, and released with its pools when the test ends.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { compileConfig } from '../../src/compiler/index.js'
import { buildSnapshot, releaseSnapshot } from '../../src/runtime/build/snapshot.js'
import { createStores, type WorkerStores } from '../../src/runtime/stores.js'
import type { Snapshot } from '../../src/runtime/types.js'

/** `stores`: to look at what the snapshot's filters keep there (fresh ones by default). */
export function builtSnapshot(t: TestContext, name: string, text: string, stores: WorkerStores = createStores()): Snapshot {
  const r = compileConfig([{ name, text }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n'))
  const snap = buildSnapshot(r.ir, stores)
  t.after(async () => {
    releaseSnapshot(snap, stores)
    await stores.pools.closeAll()
  })
  return snap
}
