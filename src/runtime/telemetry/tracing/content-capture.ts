/**
 * Message content on trace spans, for the rules that opt in (`tracing: { capture_content: true }`):
 * the request's messages and the answer, as the OpenTelemetry GenAI semantic conventions record
 * them on the inference (CLIENT) span — `gen_ai.system_instructions`, `gen_ai.input.messages`,
 * `gen_ai.output.messages` (semantic conventions v1.41: JSON strings of the "input messages" /
 * "output messages" / "system instructions" schemas; the older `gen_ai.user.message` /
 * `gen_ai.choice` events are deprecated in favour of these attributes).
 *
 * One shape whatever the caller spoke: the input is read in the translation hub's canonical form
 * (an OpenAI chat request — Anthropic and Responses bodies go through the hub's own request
 * translators), the output as answer-capture.ts collected it through the hub's upstream readers.
 * Nothing here parses a wire format of its own.
 *
 * Redaction before encoding: every string that reaches an attribute passes the snapshot's content
 * scrubber (upstream/scrub.ts: the config's secret values and credential-shaped strings), after
 * being cut to what the attribute could hold plus a margin, so a secret on the cut line is still
 * recognised whole. Then each attribute is serialized within `max_content_bytes` as valid JSON:
 * text past the budget ends with `…[truncated]`, later parts and messages are left out.
 *
 * Cost: nothing unless the route opts in and the request is sampled (request-tracing.ts checks
 * `route.contentCapture` once per sampled attempt). A capturing stream keeps its text up to the
 * limit, never the whole body.
 */
import type { RequestContext } from '../../types.js'
import type { Scrubber } from '../../upstream/scrub.js'
import type { StopReason } from '../../providers/translate/canonical.js'
import type { OpenAIChatRequest, OpenAIMessage } from '../../providers/translate/types.js'
import { operationOf } from '../../providers/caller.js'
import { anthropicToOpenAIRequest } from '../../providers/translate/anthropic-request-to-openai.js'
import { responsesToChatRequest } from '../../providers/translate/responses-request-to-chat.js'
import type { AnswerCapture, CapturedChoice } from './answer-capture.js'

const TRUNCATED = '…[truncated]'
const TRUNCATED_BYTES = Buffer.byteLength(TRUNCATED)

/** The three content attributes of one attempt span (each undefined when there is nothing to say). */
export interface CapturedContent {
  readonly systemInstructions: string | undefined
  readonly inputMessages: string | undefined
  readonly outputMessages: string | undefined
}

/**
 * Formats and redacts captured content: built once per snapshot (its scrubber holds the
 * snapshot's secret values), used once per sampled request of a capturing route.
 */
export class ContentFormatter {
  /** Characters kept per string before redaction: the budget plus room for a secret on the cut line. */
  private readonly margin: number

  constructor(private readonly scrub: Scrubber, secrets: readonly string[]) {
    let longest = 0
    for (const s of secrets) if (typeof s === 'string' && s.length > longest) longest = s.length
    this.margin = Math.max(256, longest + 16)
  }

  /** What an attempt's AnswerCapture may keep for a budget of `maxBytes`. */
  captureLimit(maxBytes: number): number {
    return maxBytes + this.margin
  }

  /** The request's system instructions and messages, and the answer when `answer` is whole. */
  format(ctx: RequestContext, answer: AnswerCapture | undefined, maxBytes: number): CapturedContent {
    const limit = maxBytes + this.margin
    const req = canonicalRequest(ctx)
    let system: unknown[] | undefined
    let input: unknown[] | undefined
    if (req !== undefined) {
      const m = genAiMessages(req.messages, (s) => this.clean(s, limit))
      system = m.system
      input = m.input
    }
    let output: unknown[] | undefined
    if (answer !== undefined && answer.complete) output = outputMessages(answer.choices, (s) => this.clean(s, limit))
    return {
      systemInstructions: system === undefined || system.length === 0 ? undefined : boundedJson(system, maxBytes),
      inputMessages: input === undefined ? undefined : boundedJson(input, maxBytes),
      outputMessages: output === undefined ? undefined : boundedJson(output, maxBytes),
    }
  }

  /** Cut to `limit` characters (never inside a surrogate pair), then redacted. */
  private clean(s: string, limit: number): string {
    let v = s
    if (v.length > limit) {
      let end = limit
      const c = v.charCodeAt(end - 1)
      if (c >= 0xd800 && c <= 0xdbff) end--
      v = v.slice(0, end)
    }
    return this.scrub.text(v)
  }
}

/** The request in the hub's canonical form (an OpenAI chat request), or undefined when it has no messages to show. */
function canonicalRequest(ctx: RequestContext): OpenAIChatRequest | undefined {
  const json = ctx.json
  if (json === null || typeof json !== 'object') return undefined
  try {
    switch (operationOf(ctx.head.path)) {
      case 'chat':
        return Array.isArray(json.messages) ? (json as OpenAIChatRequest) : undefined
      case 'messages':
        return anthropicToOpenAIRequest(json).body
      case 'responses':
        return responsesToChatRequest(json).body
      default:
        return undefined
    }
  } catch {
    // A body the hub cannot read was refused (400) or answered otherwise: no messages to show.
    return undefined
  }
}

type Clean = (s: string) => string

/**
 * OpenAI chat messages → GenAI `{ role, parts }` messages. Leading system / developer messages are
 * the system instructions (an Anthropic caller's `system` arrives as one, so both callers give the
 * same shape); later ones stay in the history with role `system`. Media parts are recorded by kind
 * only (no URL, no data).
 */
export function genAiMessages(messages: readonly OpenAIMessage[], clean: Clean): { system: unknown[]; input: unknown[] } {
  const system: unknown[] = []
  const input: unknown[] = []
  let i = 0
  for (; i < messages.length; i++) {
    const m = messages[i]
    if (m?.role !== 'system' && m?.role !== 'developer') break
    system.push(...contentParts(m.content, clean))
  }
  for (; i < messages.length; i++) {
    const m = messages[i] as any
    if (m === null || typeof m !== 'object') continue
    if (m.role === 'tool') {
      input.push({ role: 'tool', parts: [{ type: 'tool_call_response', id: String(m.tool_call_id ?? ''), result: clean(textOf(m.content)) }] })
      continue
    }
    const parts = contentParts(m.content, clean)
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      for (const tc of m.tool_calls) parts.push(toolCallPart(String(tc?.id ?? ''), String(tc?.function?.name ?? ''), String(tc?.function?.arguments ?? ''), clean))
    }
    input.push({ role: m.role === 'developer' ? 'system' : String(m.role), parts })
  }
  return { system, input }
}

function contentParts(content: unknown, clean: Clean): object[] {
  if (typeof content === 'string') return [{ type: 'text', content: clean(content) }]
  if (!Array.isArray(content)) return []
  const out: object[] = []
  for (const p of content) {
    if (p?.type === 'text' && typeof p.text === 'string') out.push({ type: 'text', content: clean(p.text) })
    else if (p?.type === 'refusal' && typeof p.refusal === 'string') out.push({ type: 'text', content: clean(p.refusal) })
    else if (p?.type === 'image_url') out.push({ type: 'image' })
    else if (p?.type === 'input_audio') out.push({ type: 'audio' })
    else if (typeof p?.type === 'string') out.push({ type: p.type === 'file' ? 'file' : 'other' })
  }
  return out
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.filter((p: any) => p?.type === 'text' && typeof p.text === 'string').map((p: any) => p.text).join('\n')
}

/** A tool call; its arguments as the JSON object they encode (the conventions' form), else as the string. */
function toolCallPart(id: string, name: string, args: string, clean: Clean): object {
  const a = clean(args)
  let value: unknown = a
  if (a !== '') {
    try {
      value = JSON.parse(a)
    } catch {}
  }
  return { type: 'tool_call', id, name, arguments: value }
}

/** GenAI's finish reasons: stop, length, content_filter, tool_call (the hub's stop_sequence is a stop). */
const FINISH: Record<StopReason, string> = { stop: 'stop', stop_sequence: 'stop', length: 'length', tool_calls: 'tool_call', content_filter: 'content_filter' }

/**
 * One output message per choice, in index order (the conventions: each output message is one
 * choice or candidate). With more than one choice each carries its `index` (the schema allows
 * extra members), since a choice that never appeared leaves a hole the array position would hide.
 */
function outputMessages(choices: readonly (CapturedChoice | undefined)[], clean: Clean): object[] {
  const many = choices.length > 1
  const out: object[] = []
  for (const c of choices) {
    if (c === undefined) continue
    const parts: object[] = []
    if (c.text !== '') parts.push({ type: 'text', content: clean(c.text) })
    for (const t of c.tools) if (t !== undefined) parts.push(toolCallPart(t.id, t.name, t.args, clean))
    const m: Record<string, unknown> = { role: 'assistant', parts, finish_reason: FINISH[c.stop!] ?? c.stop }
    if (many) m.index = c.index
    out.push(m)
  }
  return out
}

/**
 * `items` as a JSON array of at most `maxBytes` UTF-8 bytes, still valid JSON: items are kept in
 * order while they fit; the first that does not has its longest strings cut (ending in
 * `…[truncated]`) until it fits, and the ones after it are left out.
 */
export function boundedJson(items: readonly unknown[], maxBytes: number): string {
  const whole = JSON.stringify(items)
  if (Buffer.byteLength(whole) <= maxBytes) return whole
  const kept: string[] = []
  let used = 2
  for (const item of items) {
    const sep = kept.length === 0 ? 0 : 1
    const s = JSON.stringify(item)
    const size = Buffer.byteLength(s)
    if (used + sep + size <= maxBytes) {
      kept.push(s)
      used += sep + size
      continue
    }
    const cut = cutToFit(item, maxBytes - used - sep)
    if (cut !== undefined) kept.push(cut)
    break
  }
  return `[${kept.join(',')}]`
}

/** Keys whose string values are names and ids, not content: never cut. */
const NOT_CONTENT = new Set(['type', 'role', 'id', 'name', 'finish_reason'])

/** `item` (a message or part) serialized within `room` bytes by cutting its longest strings; undefined when it cannot fit. */
function cutToFit(item: unknown, room: number): string | undefined {
  if (room <= 2) return undefined
  const copy = structuredClone(item)
  const leaves: { obj: any; key: string | number }[] = []
  const walk = (v: any) => {
    if (v === null || typeof v !== 'object') return
    for (const k of Object.keys(v)) {
      const x = v[k]
      if (typeof x === 'string' && !(typeof k === 'string' && NOT_CONTENT.has(k))) leaves.push({ obj: v, key: k })
      else if (typeof x === 'object') walk(x)
    }
  }
  walk(copy)
  for (let round = 0; round < 16; round++) {
    const s = JSON.stringify(copy)
    const excess = Buffer.byteLength(s) - room
    if (excess <= 0) return s
    // The longest string that has not been cut to nothing yet.
    let best: { obj: any; key: string | number } | undefined
    let bestLen = 0
    for (const l of leaves) {
      const len = (l.obj[l.key] as string).length
      if (len > bestLen) {
        best = l
        bestLen = len
      }
    }
    if (best === undefined || bestLen <= TRUNCATED.length) return undefined
    const v = best.obj[best.key] as string
    const body = v.endsWith(TRUNCATED) ? v.slice(0, -TRUNCATED.length) : v
    // Removing k characters removes at least k bytes; the mark adds its own.
    let end = Math.max(0, body.length - excess - TRUNCATED_BYTES)
    const c = body.charCodeAt(end - 1)
    if (end > 0 && c >= 0xd800 && c <= 0xdbff) end--
    best.obj[best.key] = body.slice(0, end) + TRUNCATED
    if (end === 0) leaves.splice(leaves.indexOf(best), 1)
  }
  return undefined
}
