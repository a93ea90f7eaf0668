// Preloaded into a gateway under soak (`node --import heap-probe.js`). Workers inherit the parent's execArgv, so
// it runs in the main thread and in every worker thread: each isolate writes its V8 heap figures to
// $SOAK_PROBE_DIR/<pid>-<threadId>.json every 250 ms, with the peaks seen so far, so the soak can split the
// process's RSS into per-isolate heaps and the rest (native buffers, malloc, stacks, mapped code).
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { threadId } from 'node:worker_threads'

export interface HeapSample {
  threadId: number
  /** MB committed by the whole heap (`total_physical_size`), now and the highest sampled. */
  committed: number
  peakCommitted: number
  used: number
  /** MB committed by the young generation (both semi-spaces), now and the highest sampled. */
  young: number
  peakYoung: number
  oldUsed: number
  code: number
  /** MB V8 malloc'ed outside the heap (parser and compiler zones: `malloced_memory`, and its peak) and Buffers/ArrayBuffers (`external`). */
  malloced: number
  peakMalloced: number
  external: number
}

const dir = process.env.SOAK_PROBE_DIR
if (dir) {
  const file = join(dir, `${process.pid}-${threadId}.json`)
  const mb = (b: number) => +(b / 1048576).toFixed(2)
  let peakCommitted = 0
  let peakYoung = 0
  const write = () => {
    const h = getHeapStatistics()
    const spaces = getHeapSpaceStatistics()
    const space = (name: string) => spaces.find((s) => s.space_name === name)
    const young = (space('new_space')?.physical_space_size ?? 0) + (space('new_large_object_space')?.physical_space_size ?? 0)
    peakCommitted = Math.max(peakCommitted, h.total_physical_size)
    peakYoung = Math.max(peakYoung, young)
    const s: HeapSample = {
      threadId,
      committed: mb(h.total_physical_size),
      peakCommitted: mb(peakCommitted),
      used: mb(h.used_heap_size),
      young: mb(young),
      peakYoung: mb(peakYoung),
      oldUsed: mb(space('old_space')?.space_used_size ?? 0),
      code: mb((space('code_space')?.physical_space_size ?? 0) + (space('code_large_object_space')?.physical_space_size ?? 0)),
      malloced: mb(h.malloced_memory),
      peakMalloced: mb(h.peak_malloced_memory),
      external: mb(process.memoryUsage().external),
    }
    // Written aside and renamed, so the soak never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(s))
    renameSync(`${file}.tmp`, file)
  }
  write()
  setInterval(write, 250).unref()
}
