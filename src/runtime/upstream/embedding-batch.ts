/**
 * The pure half of embedding micro-batching: what a request's inputs are, which requests may share
 * one upstream call, and how that call's answer is cut back into one answer per member — its own
 * vectors, in its order, indexed from 0, with its share of the usage.
 */

/** One member's inputs: strings, or token arrays (never both in one batch). */
export interface MemberInputs {
  readonly kind: 'text' | 'tokens'
  readonly list: readonly (string | readonly number[])[]
  /** The member's weight for its usage share: characters (text) or tokens. */
  readonly weight: number
}

/**
 * The inputs of an embeddings body, or undefined when it is not one a batch can carry (no input, an
 * empty list, mixed kinds, anything but strings and integer token arrays): those go upstream alone,
 * and the upstream's own validation answers them.
 */
export function memberInputs(json: any): MemberInputs | undefined {
  const input = json?.input
  if (typeof input === 'string') return { kind: 'text', list: [input], weight: Math.max(1, input.length) }
  if (!Array.isArray(input) || input.length === 0) return undefined
  if (typeof input[0] === 'number') return isTokens(input) ? { kind: 'tokens', list: [input], weight: input.length } : undefined
  let weight = 0
  if (typeof input[0] === 'string') {
    for (const s of input) {
      if (typeof s !== 'string') return undefined
      weight += Math.max(1, s.length)
    }
    return { kind: 'text', list: input, weight }
  }
  for (const t of input) {
    if (!Array.isArray(t) || !isTokens(t)) return undefined
    weight += t.length
  }
  return { kind: 'tokens', list: input, weight }
}

function isTokens(a: readonly unknown[]): boolean {
  if (a.length === 0) return false
  for (const n of a) if (typeof n !== 'number' || !Number.isInteger(n)) return false
  return true
}

/**
 * Requests share a batch only when everything but `input` is the same (model, encoding_format,
 * dimensions, user…), as is the path (Azure's api-version), the input kind and — when the endpoint
 * has no credentials of its own and callers' keys are passed on — the caller's credential.
 */
export function batchKey(json: Record<string, unknown>, path: string, query: string, kind: MemberInputs['kind'], credential: string): string {
  const rest: Record<string, unknown> = {}
  for (const k of Object.keys(json).sort()) if (k !== 'input') rest[k] = json[k]
  return `${path}?${query}\u0000${kind}\u0000${credential}\u0000${JSON.stringify(rest)}`
}

export interface EmbeddingItem {
  object?: string
  index: number
  embedding: unknown
}

/** The upstream's answer to a whole batch, checked: one item per input, every index once. */
export interface BatchAnswer {
  readonly items: readonly EmbeddingItem[]
  readonly model: unknown
  readonly promptTokens: number
  readonly totalTokens: number
  /** Fields besides data / model / usage / object, kept on every member's answer. */
  readonly extra: Record<string, unknown>
}

/** Parses and checks the batch's 2xx body; a string says what is wrong with it. */
export function readBatchAnswer(body: Buffer, inputs: number): BatchAnswer | string {
  let doc: any
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    return 'the upstream answered the batch with a body that is not JSON'
  }
  if (!Array.isArray(doc?.data)) return 'the upstream answer to the batch has no data list'
  if (doc.data.length !== inputs) return `the upstream answered ${doc.data.length} embeddings for ${inputs} inputs`
  const items: EmbeddingItem[] = new Array(inputs)
  for (let i = 0; i < doc.data.length; i++) {
    const item = doc.data[i]
    // Items carry their input's index; OpenAI sends them in order, but the index is what counts.
    const at = typeof item?.index === 'number' ? item.index : i
    if (!Number.isInteger(at) || at < 0 || at >= inputs || items[at] !== undefined) return 'the upstream answer to the batch has missing or repeated indexes'
    items[at] = item
  }
  const extra: Record<string, unknown> = {}
  for (const k of Object.keys(doc)) if (k !== 'data' && k !== 'model' && k !== 'usage' && k !== 'object') extra[k] = doc[k]
  const u = doc.usage ?? {}
  const prompt = Number.isFinite(u.prompt_tokens) ? u.prompt_tokens : 0
  return { items, model: doc.model, promptTokens: prompt, totalTokens: Number.isFinite(u.total_tokens) ? u.total_tokens : prompt, extra }
}

/**
 * Splits `total` over members by weight (largest remainder), so the shares add up to the total
 * exactly: the sum of what callers are charged is what the provider charged.
 */
export function shares(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  if (sum <= 0 || total <= 0) return weights.map(() => 0)
  const exact = weights.map((w) => (total * w) / sum)
  const out = exact.map(Math.floor)
  let left = total - out.reduce((a, b) => a + b, 0)
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0])
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k][1]]++
  return out
}

/** One member's answer body: its items re-indexed from 0, in its own input order. */
export function memberBody(a: BatchAnswer, from: number, count: number, promptTokens: number, totalTokens: number): Buffer {
  const data = new Array(count)
  for (let i = 0; i < count; i++) {
    const item = a.items[from + i]
    data[i] = { ...item, index: i }
  }
  return Buffer.from(JSON.stringify({ object: 'list', data, model: a.model, usage: { prompt_tokens: promptTokens, total_tokens: totalTokens }, ...a.extra }))
}
