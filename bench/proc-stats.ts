// CPU time and memory of a server under test, read from /proc. A server may be a process tree (nginx master +
// worker, a gateway that forks), so both are summed over the pid and its descendants.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may contain spaces and parens; the fields after the last ')' are fixed.
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const f = statFields(pid)
    if (!f) continue
    const ppid = Number(f[1]) // field 4 overall
    const list = children.get(ppid)
    if (list) list.push(pid); else children.set(ppid, [pid])
  }
  const out: number[] = []
  const stack = [root]
  while (stack.length) {
    const pid = stack.pop()!
    out.push(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return out
}

/** utime + stime of the tree, in seconds (fields 14 and 15; after the comm split they are at 11 and 12). */
export function cpuSeconds(root: number): number {
  let ticks = 0
  for (const pid of processTree(root)) {
    const f = statFields(pid)
    if (f) ticks += Number(f[11]) + Number(f[12])
  }
  return ticks / CLK_TCK
}

function statusKb(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/**
 * CPU of the tree including children it has already reaped (cutime+cstime, fields 16 and 17), so a wrk run that
 * exited during the window still counts. Used for the whole harness: what the box did that was not us is noise.
 */
export function treeCpuSecondsWithReaped(root: number): number {
  let ticks = 0
  for (const pid of processTree(root)) {
    const f = statFields(pid)
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
  }
  return ticks / CLK_TCK
}

/** Busy CPU-seconds of the whole machine, and the hypervisor's steal, from /proc/stat. */
export function systemCpu(): { busy: number, steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , , , steal] = f
  // irq/softirq are left out: loopback networking runs there on our behalf but is not in any process's stime.
  return { busy: (user + nice + system) / CLK_TCK, steal: steal / CLK_TCK }
}

/** A `/proc/<pid>/status` figure (VmRSS, VmHWM, RssAnon, RssFile, …) summed over the tree, in MB. */
export function statusMb(root: number, key: string): number {
  return processTree(root).reduce((a, pid) => a + statusKb(pid, key), 0) / 1024
}

/** Peak resident set (VmHWM) summed over the tree, in MB. Shared pages count once per process. */
export const peakRssMb = (root: number): number => statusMb(root, 'VmHWM')

/** Current resident set (VmRSS) summed over the tree, in MB. */
export const rssMb = (root: number): number => statusMb(root, 'VmRSS')

/**
 * CPU seconds per thread of one process (/proc/<pid>/task/<tid>/{comm,stat}), keyed `comm:tid`: the worker's
 * JS thread, V8's background threads (concurrent marking, sweeping, compilation), libuv's pool. Node names
 * most of them `node`, so callers tell them apart by how busy they are. Which thread pays tells apart work
 * on the request path and what the garbage collector does beside it.
 */
export function cpuSecondsByThread(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  let tids: string[]
  try { tids = readdirSync(`/proc/${pid}/task`) } catch { return out }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
      out.set(`${comm}:${tid}`, (Number(f[11]) + Number(f[12])) / CLK_TCK)
    } catch { /* the thread ended between the listing and the read */ }
  }
  return out
}

/** after − before per thread (threads absent before count from 0), busiest first. */
export function threadDelta(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after].map(([name, s]): [string, number] => [name, s - (before.get(name) ?? 0)]).sort((a, b) => b[1] - a[1])
}
