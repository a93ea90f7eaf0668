// CPU pinning. On a 2-core box, client, proxy and upstream fight for the same cores and the scheduler's
// placement changes from run to run, which made identical runs differ by 2×. So by default the proxy under
// test gets CPU 1 to itself (all proxies here are one worker, so one core is their whole budget) and
// everything else — this process, wrk, the mocks — runs on the remaining CPUs. BENCH_PIN=0 turns this off.
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

const cpus = availableParallelism()
export const PINNED = process.env.BENCH_PIN !== '0' && cpus >= 2 && spawnSync('taskset', ['-V']).status === 0
const PROXY_CPU = '1'
const LOAD_CPUS = [0, ...Array.from({ length: cpus - 2 }, (_, i) => i + 2)].join(',')

/** Move this process (all threads) to the load CPUs; children spawned later inherit it. */
export function pinSelf(): void {
  if (!PINNED) return
  const r = spawnSync('taskset', ['-a', '-cp', LOAD_CPUS, String(process.pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr}`)
}

/** The command line that runs `cmd` on the proxy CPU (taskset execs, so the pid stays the proxy's). */
export function onProxyCpu(cmd: string, args: readonly string[]): [string, string[]] {
  return PINNED ? ['taskset', ['-c', PROXY_CPU, cmd, ...args]] : [cmd, [...args]]
}

export function pinningNote(): string {
  return PINNED ? `proxy under test pinned to CPU ${PROXY_CPU}; client, mocks and harness on CPU ${LOAD_CPUS}` : 'no CPU pinning'
}
