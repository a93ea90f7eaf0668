// How fast the proxy's CPU is right now. This box is a KVM guest: load from other guests on the host shows up as a
// slower vCPU, not as other processes or steal, so the noise probe (noise.ts) cannot see it (bench/SSE-ONE-PASS.md:
// a fixed workload took 44–50 ms on a quiet host and 57–92 ms on a busy one, and CPU per stream rose with it).
// `calibrate()` times a fixed JavaScript workload (JSON.parse of the bench request) in a fresh process pinned
// where the proxy runs, while the proxy idles between rounds: its milliseconds, compared across the rounds of one
// run, say which rounds ran on a slower machine.
import { spawnSync } from 'node:child_process'
import { REQUEST } from './payloads.js'
import { onProxyCpu } from './pinning.js'

/** JIT warm-up, then the timed loop; prints its milliseconds. */
const WORKLOAD = `const s=${JSON.stringify(JSON.stringify(REQUEST))};let t=process.hrtime.bigint();for(let i=0;i<3e4;i++)JSON.parse(s);t=process.hrtime.bigint();for(let i=0;i<1e5;i++)JSON.parse(s);console.log(Number(process.hrtime.bigint()-t)/1e6)`

/** Milliseconds of the fixed workload on the proxy's CPU now (NaN if it could not run). */
export function calibrate(): number {
  const r = spawnSync(...onProxyCpu(process.execPath, ['-e', WORKLOAD]), { encoding: 'utf8' })
  return Number(r.stdout.trim())
}

/** A row's rounds ran this much slower than the run's fastest: above it, its numbers are suspect. */
export const SLOW_CPU = 1.15
