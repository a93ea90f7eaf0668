/**
 * Seeded fuzzing helpers shared by the request-path fuzz tests: the same seed gives the same
 * mutations everywhere, so a failure reproduces with FUZZ_SEED=<n>.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A deep copy of `seed` with 1–3 mutations at random paths: a node replaced by one of `odd`, or
 * (1 in 5, for object members) deleted; 3 % of the time the whole document is replaced.
 */
export function mutate(seed: unknown, rnd: () => number, odd: readonly unknown[]): unknown {
  const pick = () => structuredClone(odd[Math.floor(rnd() * odd.length)])
  const doc = structuredClone(seed)
  const n = 1 + Math.floor(rnd() * 3)
  for (let k = 0; k < n; k++) {
    const nodes: { parent: any; key: string | number }[] = []
    const walk = (v: any) => {
      if (v === null || typeof v !== 'object') return
      for (const key of Array.isArray(v) ? v.keys() : Object.keys(v)) {
        nodes.push({ parent: v, key })
        walk(v[key])
      }
    }
    walk(doc)
    if (nodes.length === 0) return pick()
    const { parent, key } = nodes[Math.floor(rnd() * nodes.length)]
    if (rnd() < 0.2 && !Array.isArray(parent)) delete parent[key]
    else parent[key] = pick()
  }
  return rnd() < 0.03 ? pick() : doc
}
