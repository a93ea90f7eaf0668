// Other work on the box (a build, a test run) is the biggest error source on a small machine, so the harness
// measures it instead of hoping: every window records how much CPU went to processes that are not ours, and
// before each window we wait a little for the box to be quiet.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { systemCpu, treeCpuSecondsWithReaped } from './proc-stats.js'

/**
 * Start a noise probe: `stop()` returns how many cores, on average, were busy with processes outside
 * `root`'s tree (another build, a test run) and stolen by the hypervisor during the window.
 */
export function noiseProbe(root: number): () => { otherCores: number, stealCores: number } {
  const t0 = performance.now()
  const sys0 = systemCpu()
  const own0 = treeCpuSecondsWithReaped(root)
  return () => {
    const wall = (performance.now() - t0) / 1000
    const sys1 = systemCpu()
    const own = treeCpuSecondsWithReaped(root) - own0
    return { otherCores: Math.max(0, (sys1.busy - sys0.busy - own) / wall), stealCores: (sys1.steal - sys0.steal) / wall }
  }
}

const QUIET_CORES = 0.2
let budgetMs = Number(process.env.BENCH_QUIET_WAIT ?? 60) * 1000

/**
 * Wait (in 500 ms looks) until other processes use less than 0.2 cores, for at most 20 s per call and
 * BENCH_QUIET_WAIT seconds (default 60) per run, so a busy box slows the bench down but cannot hang it.
 * Returns how long it waited.
 */
export async function waitQuiet(root: number, onWait: (otherCores: number) => void): Promise<number> {
  const t0 = performance.now()
  let warned = false
  while (budgetMs > 0 && performance.now() - t0 < 20_000) {
    const stop = noiseProbe(root)
    await sleep(500)
    const { otherCores } = stop()
    if (otherCores < QUIET_CORES) break
    if (!warned) { onWait(otherCores); warned = true }
    budgetMs -= 500
  }
  return performance.now() - t0
}
