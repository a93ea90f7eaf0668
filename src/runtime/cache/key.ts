/**
 * The cache key: a hash of the canonical request. Two requests share a key exactly when the
 * upstream would see the same question: the same operation family, cluster and served model (after
 * the route's rewrites and the cluster's model_map), the same messages / input, tools and every
 * body parameter not named as ignored, with JSON key order normalised — asked by the same tenant,
 * in the same namespace.
 *
 * Chat Completions and Anthropic Messages requests are both keyed in the translation hub's form (an
 * OpenAI chat request), so an Anthropic caller hits an entry an OpenAI caller filled when the
 * upstream request would be the same. Parameters the hub cannot carry (Anthropic's top_k, thinking…)
 * stay in the key verbatim: never a hit across a difference the upstream would have seen.
 */
import { hash } from 'node:crypto'
import type { Operation } from '../providers/caller.js'
import { anthropicToOpenAIRequest } from '../providers/translate/anthropic-request-to-openai.js'
import type { AnthropicRequest } from '../providers/translate/types.js'
import { assertAnthropicRequest } from '../providers/translate/request-shape.js'

/** The operations the cache keys: chat and messages share one family ('turn'). */
export type CacheOperation = 'chat' | 'messages' | 'embeddings' | 'responses'

export function isCacheOperation(op: Operation): op is CacheOperation {
  return op === 'chat' || op === 'messages' || op === 'embeddings' || op === 'responses'
}

/** Everything the key is made of. `body` is the canonical request from canonicalRequest(). */
export interface KeyParts {
  readonly namespace: string
  readonly tenant: string
  readonly op: CacheOperation
  readonly cluster: string
  readonly model: string
  readonly body: Record<string, unknown>
}

/** sha256 over the parts, base64url (43 characters): what both tiers are keyed by. */
export function requestKey(p: KeyParts): string {
  // chat and messages are one family: their canonical bodies are both OpenAI chat requests.
  const family = p.op === 'messages' ? 'chat' : p.op
  // One-shot hash of one string: cheaper than a Hash object fed part by part.
  return hash('sha256', `${p.namespace}\n${p.tenant}\n${family}\n${p.cluster}\n${p.model}\n${canonicalJson(p.body)}`, 'base64url')
}

/**
 * The request as the key sees it, or undefined when it cannot be read (then the request is not
 * cached). `ignored`: body fields that do not change the answer (stream, user…); `model` is
 * always left out (the served model is keyed on its own).
 */
export function canonicalRequest(op: CacheOperation, json: unknown, ignored: ReadonlySet<string>): Record<string, unknown> | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined
  let body = json as Record<string, unknown>
  let extra: Record<string, unknown> | undefined
  if (op === 'messages') {
    try {
      assertAnthropicRequest(body)
      const t = anthropicToOpenAIRequest(body as AnthropicRequest, { maxTokensField: 'max_tokens' })
      if (t.dropped.length > 0) {
        extra = {}
        for (const name of t.dropped) extra[name] = body[name]
      }
      body = t.body as Record<string, unknown>
    } catch {
      return undefined
    }
  }
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(body)) {
    if (k === 'model' || ignored.has(k)) continue
    const v = body[k]
    if (v === undefined) continue
    out[k] = v
  }
  if (op === 'chat' || op === 'messages') {
    // Two spellings of one limit (the hub writes max_tokens; OpenAI's newer callers send the other).
    if (out.max_completion_tokens !== undefined && out.max_tokens === undefined) {
      out.max_tokens = out.max_completion_tokens
      delete out.max_completion_tokens
    }
    if (Array.isArray(out.messages)) out.messages = out.messages.map(normaliseMessage)
    if (extra !== undefined) out['anthropic:'] = extra
  }
  return out
}

/** A user/system turn whose content is only text parts says the same as that text (the hub's own rule). */
function normaliseMessage(m: unknown): unknown {
  if (m === null || typeof m !== 'object') return m
  const c = (m as { content?: unknown }).content
  if (!Array.isArray(c) || c.length === 0 || (m as { role?: unknown }).role === 'assistant') return m
  let text = ''
  for (const p of c) {
    if (p === null || typeof p !== 'object' || (p as { type?: unknown }).type !== 'text' || typeof (p as { text?: unknown }).text !== 'string') return m
    if (Object.keys(p).length !== 2) return m // cache_control or other markers: keep as sent
    text += (p as { text: string }).text
  }
  return { ...(m as object), content: text }
}

/**
 * JSON with object keys sorted at every level and no whitespace: equal for requests that differ
 * only in key order or formatting. Array order is kept (it is meaningful in messages and tools).
 * Byte for byte JSON.stringify's spelling of every value (test/runtime/cache/canonical-json.test.ts
 * checks it against the first version on random values).
 *
 * hot path (every cacheable request): built by concatenation (one flat string once hashed); keys
 * put in order by an insertion sort (a few keys per object, mostly in order or nearly: cheaper than
 * Array.prototype.sort's call); a string that needs no escape is quoted as it is (no copy: the hash
 * flattens the string once), quoted keys remembered (a few dozen names recur).
 */
export function canonicalJson(v: unknown): string {
  if (typeof v === 'string') return quote(v)
  // JSON.stringify writes a finite number as String() does (-0 as 0, 1e21 as 1e+21), others as null.
  if (typeof v === 'number') return Number.isFinite(v) ? '' + v : 'null'
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (Array.isArray(v)) {
    const n = v.length
    if (n === 0) return '[]'
    let s = '[' + (v[0] === undefined ? 'null' : canonicalJson(v[0]))
    for (let i = 1; i < n; i++) s += ',' + (v[i] === undefined ? 'null' : canonicalJson(v[i]))
    return s + ']'
  }
  const keys = Object.keys(v)
  const n = keys.length
  // Insertion sort by UTF-16 code units (what sort() does with strings); keys are distinct.
  for (let i = 1; i < n; i++) {
    const k = keys[i]
    let j = i - 1
    if (keys[j] <= k) continue
    do {
      keys[j + 1] = keys[j]
      j--
    } while (j >= 0 && keys[j] > k)
    keys[j + 1] = k
  }
  let s = '{'
  let first = true
  for (let i = 0; i < n; i++) {
    const x = (v as Record<string, unknown>)[keys[i]]
    if (x === undefined) continue
    s += (first ? '' : ',') + quotedKey(keys[i]) + ':' + canonicalJson(x)
    first = false
  }
  return s + '}'
}

/** What JSON.stringify escapes in a string: quote, backslash, control characters, and surrogates (a lone one becomes \uXXXX; a string with any goes the slow way). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"'
}

/** Quoted object keys, up to QUOTED_MAX names of at most 64 characters (request bodies reuse a small vocabulary). */
const quoted = new Map<string, string>()
const QUOTED_MAX = 4096

function quotedKey(k: string): string {
  let q = quoted.get(k)
  if (q === undefined) {
    q = JSON.stringify(k)
    if (quoted.size < QUOTED_MAX && k.length <= 64) quoted.set(k, q)
  }
  return q
}
