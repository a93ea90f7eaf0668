// `node dist/bench/semantic-index.js`: what the semantic cache's vector index costs, in-process (no sockets).
//
//   1. VectorIndex.add / .nearest over one scope of N entries (usearch HNSW past EXACT_UP_TO), at 256 and
//      1536 dimensions (text-embedding-3-small's size), and over a scope of EXACT_UP_TO entries (exact scan);
//      RSS growth per entry, and how often HNSW's nearest is the exact nearest (recall@1) for queries at
//      cosine ~0.9 to a stored vector (a reworded question; random queries in high dimensions are no such case).
//   2. One request through the cache filter, socket-free, on examples/cache-semantic.yaml: an exact hit
//      against a semantic hit (mock embeddings, in-process: the embedding call's own cost without a network).
//
//   npm run build && node dist/bench/semantic-index.js       # ~30 s; SEMANTIC_N=20000 for a larger index
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXACT_UP_TO, VectorIndex } from '../src/runtime/cache/semantic/vector-index.js'
import { compileConfig } from '../src/compiler/index.js'
import { buildSnapshot } from '../src/runtime/build/snapshot.js'
import { createStores } from '../src/runtime/stores.js'
import { dispatch } from '../src/runtime/http/dispatch.js'
import type { Downstream, Snapshot } from '../src/runtime/types.js'

const N = Number(process.env.SEMANTIC_N ?? 10_000)
const QUERIES = 1000

function randomUnit(dims: number): Float32Array {
  const v = new Float32Array(dims)
  let n = 0
  for (let i = 0; i < dims; i++) {
    v[i] = Math.random() - 0.5
    n += v[i] * v[i]
  }
  for (let i = 0; i < dims; i++) v[i] /= Math.sqrt(n)
  return v
}

function indexRow(dims: number, n: number): string {
  const vectors = Array.from({ length: n }, () => randomUnit(dims))
  // What a semantic cache asks: a reworded question lands near one stored prompt (cosine ~0.9 to it).
  const queries = Array.from({ length: QUERIES }, (_, i) => near(vectors[(i * 7919) % n], 0.9))
  const later = Date.now() + 3_600_000
  const ix = new VectorIndex(n + 1, 2 ** 40)
  global.gc?.()
  const rss0 = process.memoryUsage().rss
  let t = performance.now()
  for (let i = 0; i < n; i++) ix.add('scope', `k${i}`, vectors[i], later)
  const addUs = ((performance.now() - t) * 1000) / n
  const rssPerEntry = (process.memoryUsage().rss - rss0) / n
  t = performance.now()
  const found = queries.map((q) => ix.nearest('scope', q)!.key)
  const searchUs = ((performance.now() - t) * 1000) / QUERIES
  // Recall@1: how often the found key is the exact nearest (brute-force scan), on the first 200 queries.
  let agree = 0
  for (let qi = 0; qi < 200; qi++) {
    let best = -2
    let key = ''
    for (let i = 0; i < n; i++) {
      let s = 0
      const a = vectors[i]
      const b = queries[qi]
      for (let j = 0; j < dims; j++) s += a[j] * b[j]
      if (s > best) {
        best = s
        key = `k${i}`
      }
    }
    if (found[qi] === key) agree++
  }
  const kind = n > EXACT_UP_TO ? 'HNSW' : 'exact'
  return `| ${dims} | ${n} | ${kind} | ${addUs.toFixed(1)} | ${searchUs.toFixed(1)} | ${n > 500 ? (rssPerEntry / 1024).toFixed(2) : '-'} | ${((agree / 200) * 100).toFixed(0)} % |`
}

/** A unit vector at cosine ~`cos` to `v` (v plus orthogonal-ish noise, renormalised). */
function near(v: Float32Array, cos: number): Float32Array {
  const noise = randomUnit(v.length)
  const w = Math.sqrt(1 - cos * cos)
  const out = new Float32Array(v.length)
  let n = 0
  for (let i = 0; i < v.length; i++) {
    out[i] = cos * v[i] + w * noise[i]
    n += out[i] * out[i]
  }
  for (let i = 0; i < v.length; i++) out[i] /= Math.sqrt(n)
  return out
}

class NullDownstream implements Downstream {
  aborted = false
  headers: readonly (readonly [string, string])[] = []
  private resolve!: () => void
  readonly done = new Promise<void>((r) => (this.resolve = r))
  onAbort(): void {}
  onWritable(): void {}
  writeHead(_s: number, h: readonly (readonly [string, string])[]): void {
    this.headers = h
  }
  write(): boolean {
    return true
  }
  end(): void {
    this.resolve()
  }
  close(): void {
    this.resolve()
  }
}

async function requestMicros(snap: Snapshot, text: string, expect: string, rounds: number): Promise<number> {
  const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: text }] }))
  const one = async () => {
    const d = new NullDownstream()
    dispatch(snap, snap.listeners.get(8080)!, { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'content-type': 'application/json' }, body }, d)
    await d.done
    return d.headers.find(([k]) => k === 'x-switchyard-cache')?.[1]
  }
  const got = await one()
  if (got !== expect) throw new Error(`expected ${expect}, got ${got} for '${text}'`)
  const t = performance.now()
  for (let i = 0; i < rounds; i++) await one()
  return ((performance.now() - t) * 1000) / rounds
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${process.arch}; usearch HNSW (connectivity 16, expansion_add 128, expansion_search 64)\n`)
  console.log('| dims | entries | search | add µs | nearest µs | RSS KiB/entry | recall@1 |')
  console.log('| ---: | ---: | --- | ---: | ---: | ---: | ---: |')
  for (const dims of [256, 1536]) {
    console.log(indexRow(dims, EXACT_UP_TO))
    console.log(indexRow(dims, N))
  }
  const root = join(fileURLToPath(import.meta.url), '../../..')
  const text = readFileSync(join(root, 'examples/cache-semantic.yaml'), 'utf8').replace('latency: 200ms', 'latency: 0ms')
  const r = compileConfig([{ name: 'cache-semantic.yaml', text }], { source: 'bench', env: {} })
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics))
  const snap = buildSnapshot(r.ir, createStores())
  await requestMicros(snap, 'What is the capital of France?', 'miss', 0)
  const exact = await requestMicros(snap, 'What is the capital of France?', 'hit', 5000)
  const semantic = await requestMicros(snap, 'what is the capital city of France', 'semantic-hit', 5000)
  console.log(`\nOne request, socket-free, examples/cache-semantic.yaml: exact hit ${exact.toFixed(1)} µs, semantic hit ${semantic.toFixed(1)} µs (mock embeddings in-process; a real embedding call adds its network round trip)`)
  process.exit(0)
}

void main()
