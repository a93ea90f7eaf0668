/**
 * A conversation as the `session` filter keeps it, and the prompt it makes of one: the system prompt
 * plus whole turns (a request's new messages with the answer to them), in the caller's own format —
 * Chat Completions messages, Anthropic messages or Responses input items.
 *
 * Before a request goes upstream, the stored turns are put in front of its new messages, newest
 * kept first, while they fit: at most `maxTurns`, and the whole prompt (system, history, the new
 * messages and the answer's ceiling) within the model's context window, by the same estimate the
 * token limits use. The oldest turns go first; the system prompt always stays. A kept history never
 * starts inside a tool exchange (with a tool result whose call was dropped).
 */
import { estimateInputTokens, outputCeiling } from '../limits/token-estimate.js'

export type SessionKind = 'chat' | 'messages' | 'responses'

export interface Turn {
  /** The request's new messages (or input items) followed by the answer's. */
  readonly items: readonly unknown[]
  /** Estimated tokens of `items`. */
  readonly tokens: number
}

export interface SessionRecord {
  readonly v: 1
  readonly kind: SessionKind
  /** Chat: the system/developer messages; Anthropic: the `system` field; Responses: none (instructions are per request). */
  readonly system?: unknown
  readonly turns: readonly Turn[]
  readonly updatedAt: number
}

export interface PromptLimits {
  readonly maxTurns: number
  readonly contextTokens: number
  /** Output ceiling assumed when the request declares none. */
  readonly reserveOutputTokens: number
}

/** What a request becomes with its history, and what to store once its answer is complete. */
export interface Prepared {
  /** The body to send (ctx.json), already rewritten. */
  readonly json: Record<string, unknown>
  /** The history that was kept, to which the new turn is appended. */
  readonly kept: readonly Turn[]
  /** Turns dropped to stay within the limits. */
  readonly dropped: number
  /** This request's own new items (the new turn starts with them). */
  readonly fresh: readonly unknown[]
  readonly system: unknown
}

export function tokensOf(value: unknown): number {
  return value === undefined ? 0 : estimateInputTokens(Buffer.from(JSON.stringify(value)))
}

export function parseRecord(text: string | undefined, kind: SessionKind): SessionRecord | undefined {
  if (text === undefined) return undefined
  try {
    const r = JSON.parse(text) as SessionRecord
    // Another operation's conversation under the same id starts afresh, as does anything unreadable.
    return r?.v === 1 && r.kind === kind && Array.isArray(r.turns) ? r : undefined
  } catch {
    return undefined
  }
}

/** The request's system prompt and new items, by operation. */
function split(kind: SessionKind, json: Record<string, any>): { system: unknown; fresh: unknown[] } | undefined {
  if (kind === 'chat') {
    if (!Array.isArray(json.messages)) return undefined
    const system = json.messages.filter((m: any) => m?.role === 'system' || m?.role === 'developer')
    return { system: system.length > 0 ? system : undefined, fresh: json.messages.filter((m: any) => m?.role !== 'system' && m?.role !== 'developer') }
  }
  if (kind === 'messages') return Array.isArray(json.messages) ? { system: json.system, fresh: json.messages } : undefined
  const input = json.input
  if (typeof input === 'string') return { system: undefined, fresh: [{ type: 'message', role: 'user', content: input }] }
  return Array.isArray(input) ? { system: undefined, fresh: input } : undefined
}

/** Whether a kept history may start with this item: a user turn, not a tool result answering a dropped call. */
function startsTurn(kind: SessionKind, item: any): boolean {
  if (kind === 'chat') return item?.role === 'user'
  if (kind === 'messages') return item?.role === 'user' && !(Array.isArray(item.content) && item.content.some((p: any) => p?.type === 'tool_result'))
  return item?.type !== 'function_call_output' && (item?.type === 'message' || item?.role !== undefined) && item?.role === 'user'
}

/**
 * The request with its history in front, or undefined when its body has no messages / input to
 * extend (it is then sent as it is and nothing is stored).
 */
export function prepare(kind: SessionKind, json: Record<string, any>, record: SessionRecord | undefined, limits: PromptLimits): Prepared | undefined {
  const parts = split(kind, json)
  if (parts === undefined) return undefined
  const system = parts.system ?? record?.system
  const turns = record?.turns ?? []
  let budget = limits.contextTokens - outputCeiling(json, limits.reserveOutputTokens) - tokensOf(system) - tokensOf(parts.fresh)
  let first = turns.length
  while (first > 0 && turns.length - first < limits.maxTurns && turns[first - 1].tokens <= budget) {
    budget -= turns[first - 1].tokens
    first--
  }
  while (first < turns.length && !startsTurn(kind, turns[first].items[0])) first++
  const kept = turns.slice(first)
  const history: unknown[] = []
  for (const t of kept) for (const item of t.items) history.push(item)
  const out: Record<string, unknown> = { ...json }
  if (kind === 'chat') out.messages = [...((system as unknown[] | undefined) ?? []), ...history, ...parts.fresh]
  else if (kind === 'messages') {
    out.messages = [...history, ...parts.fresh]
    if (system !== undefined) out.system = system
  } else {
    out.input = [...history, ...parts.fresh]
    delete out.previous_response_id
  }
  return { json: out, kept, dropped: turns.length - kept.length, fresh: parts.fresh, system }
}

/**
 * The record after a completed answer: the kept history plus the new turn, then trimmed from the
 * oldest end to `maxTurns` and `maxTokens`.
 */
export function appendTurn(kind: SessionKind, p: Prepared, answer: readonly unknown[], limits: { maxTurns: number; maxTokens: number }, now = Date.now()): SessionRecord {
  const items = [...p.fresh, ...answer]
  const turns = [...p.kept, { items, tokens: tokensOf(items) }]
  let total = 0
  for (const t of turns) total += t.tokens
  let first = 0
  while (first < turns.length - 1 && (turns.length - first > limits.maxTurns || total > limits.maxTokens)) total -= turns[first++].tokens
  while (first < turns.length - 1 && !startsTurn(kind, turns[first].items[0])) first++
  return { v: 1, kind, ...(p.system !== undefined && { system: p.system }), turns: turns.slice(first), updatedAt: now }
}
