// `node dist/bench/semantic-share.js`: what sharing one semantic index between the worker threads of a process
// would cost against what keeping one per worker costs, measured (docs/cache.md, "Index across workers").
//
//   owner:     the index lives in one thread (an owner); a worker's lookup is a request over a MessagePort
//              (the query vector cloned there, the answer back). Measured: the round trip from a worker as
//              latency, against the same search run locally in the worker, and the owner's busy time per
//              lookup (all workers' searches run there, one at a time).
//   broadcast: every worker keeps its own index; a stored answer is posted to the siblings over a
//              BroadcastChannel (vector + a 2 KiB entry) and each adds it. Measured: the time per message,
//              sender to receiver, with a stream of posts (the transport; each sibling's add then costs what
//              the first worker's add cost, see bench/semantic-index.ts).
//
//   npm run build && node dist/bench/semantic-share.js     # SHARE_DIMS=1536 SHARE_N=2000
import { BroadcastChannel, MessageChannel, Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { VectorIndex } from '../src/runtime/cache/semantic/vector-index.js'

const DIMS = Number(process.env.SHARE_DIMS ?? 1536)
const N = Number(process.env.SHARE_N ?? 2000)
const LOOKUPS = 500
const POSTS = 2000

function randomUnit(dims: number): Float32Array {
  const v = new Float32Array(dims)
  let n = 0
  for (let i = 0; i < dims; i++) n += (v[i] = Math.random() - 0.5) ** 2
  const s = 1 / Math.sqrt(n)
  for (let i = 0; i < dims; i++) v[i] *= s
  return v
}

function filled(entries: number): VectorIndex {
  const ix = new VectorIndex(entries + 1, 1 << 30)
  const until = Date.now() + 3_600_000
  for (let i = 0; i < entries; i++) ix.add('scope', `key-${i}`, randomUnit(DIMS), until)
  return ix
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

type Role = { role: 'owner'; port: MessagePort; entries: number } | { role: 'asker'; port: MessagePort; entries: number } | { role: 'receiver'; channel: string }

async function owner(port: MessagePort, entries: number): Promise<void> {
  const ix = filled(entries)
  let busy = 0
  port.on('message', (m: { id: number; vector?: Float32Array; done?: boolean }) => {
    if (m.done) return port.postMessage({ busyUs: busy })
    const t0 = performance.now()
    const near = ix.nearest('scope', m.vector!)
    busy += (performance.now() - t0) * 1000
    port.postMessage({ id: m.id, key: near?.key, similarity: near?.similarity })
  })
  port.postMessage({ ready: true })
}

async function asker(port: MessagePort, entries: number): Promise<void> {
  const local = filled(entries)
  const queries = Array.from({ length: LOOKUPS }, () => randomUnit(DIMS))
  const localUs = queries.map((q) => {
    const t0 = performance.now()
    local.nearest('scope', q)
    return (performance.now() - t0) * 1000
  })
  await new Promise<void>((r) => port.once('message', () => r()))
  const remoteUs: number[] = []
  for (let i = 0; i < queries.length; i++) {
    const t0 = performance.now()
    port.postMessage({ id: i, vector: queries[i] })
    await new Promise<void>((r) => port.once('message', () => r()))
    remoteUs.push((performance.now() - t0) * 1000)
  }
  port.postMessage({ done: true })
  const { busyUs } = await new Promise<{ busyUs: number }>((r) => port.once('message', r))
  parentPort!.postMessage({ localUs: median(localUs), remoteUs: median(remoteUs), ownerBusyUs: busyUs / LOOKUPS })
}

function receiver(name: string): void {
  const ix = new VectorIndex(POSTS + 1, 1 << 30)
  const ch = new BroadcastChannel(name)
  let n = 0
  ch.onmessage = (ev) => {
    const m = (ev as { data: { key: string; vector: Float32Array; expiresAt: number; entry: Uint8Array } }).data
    // The transport alone: the add that follows costs a sibling what it costs the worker that stored the answer.
    if (m.vector.length !== DIMS || m.entry.length === 0) ix.add('scope', m.key, m.vector, m.expiresAt)
    if (++n === POSTS) {
      ch.close()
      parentPort!.postMessage({ received: n })
    }
  }
  parentPort!.postMessage({ ready: true })
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url)
  const start = (data: Role, transfer: MessagePort[] = []) => new Worker(self, { workerData: data, transferList: transfer })
  // 1. owner thread answering lookups
  const { port1, port2 } = new MessageChannel()
  const o = start({ role: 'owner', port: port1, entries: N }, [port1])
  const a = start({ role: 'asker', port: port2, entries: N }, [port2])
  const lookup = await new Promise<{ localUs: number; remoteUs: number; ownerBusyUs: number }>((r) => a.once('message', r))
  await Promise.all([o.terminate(), a.terminate()])
  // 2. broadcast of stored answers to a sibling
  const name = `bench-${process.pid}`
  const rcv = start({ role: 'receiver', channel: name })
  await new Promise((r) => rcv.once('message', r))
  const ch = new BroadcastChannel(name)
  const entry = new Uint8Array(2048)
  const vectors = Array.from({ length: POSTS }, () => randomUnit(DIMS))
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < POSTS; i++) ch.postMessage({ scope: 'scope', key: `key-${i}`, expiresAt: Date.now() + 3_600_000, vector: vectors[i], entry })
  const sendCpu = process.cpuUsage(cpu0)
  await new Promise((r) => rcv.once('message', r))
  const perMessageUs = ((performance.now() - t0) * 1000) / POSTS
  ch.close()
  await rcv.terminate()
  console.log(`semantic index across workers: ${DIMS} dimensions, ${N} entries in one scope (${N > 64 ? 'HNSW' : 'exact scan'})`)
  console.log(`- lookup in the worker's own index: ${lookup.localUs.toFixed(1)} µs (median)`)
  console.log(`- lookup through an owner thread over a MessagePort: ${lookup.remoteUs.toFixed(1)} µs round trip (median), the owner busy ${lookup.ownerBusyUs.toFixed(1)} µs per lookup: one thread searches for every worker`)
  console.log(`- broadcast of one stored answer (vector + 2 KiB entry) to a sibling (the transport; the add after it costs what the first worker's add cost): ${perMessageUs.toFixed(1)} µs per message end to end (${POSTS} posts; the sender's process CPU ${(((sendCpu.user + sendCpu.system)) / POSTS).toFixed(1)} µs per post while posting)`)
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
} else {
  const d = workerData as Role
  if (d.role === 'owner') void owner(d.port, d.entries)
  else if (d.role === 'asker') void asker(d.port, d.entries)
  else receiver(d.channel)
}
