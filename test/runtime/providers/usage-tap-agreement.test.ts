/**
 * SseUsageTap's one-pass reading agrees with the straightforward one: cut the stream at every blank
 * line, decode each block with the SSE parser, JSON.parse every event's data, apply the protocol's
 * rules to the values. Over real streams (fixtures and the wire-format builders), mutated (values
 * replaced, bytes edited, shapes varied: CRLF, `data:` without a space, multi-line data, comments,
 * `id:` lines) and cut into random chunks — seeded, so a failure reproduces with FUZZ_SEED=<n>.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SseUsageTap } from '../../../src/runtime/providers/usage-tap.js'
import { createSseParser, type SseEvent } from '../../../src/runtime/providers/sse/sse-parser.js'
import { usageFromAnthropic, usageFromOpenAI } from '../../../src/runtime/providers/translate/usage.js'
import { usageFromResponses } from '../../../src/runtime/providers/translate/responses-envelope.js'
import type { CallerProtocol } from '../../../src/protocols.js'
import type { Usage } from '../../../src/runtime/types.js'
import { fixture } from '../../support/fixtures.js'
import { mutate, prng } from '../../support/fuzz.js'
import { anthropicTextEvents, chatChunks, messageItem, ResponsesEvents } from '../../support/wire-formats.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261203)
const STREAMS = 4000

// ---- the reference: blocks, the SSE parser, JSON.parse, the rules on values -----------------------

interface Outcome {
  out: string
  complete: boolean
  malformed: string | undefined
  usage: Usage | undefined
  finishedWithoutMarker: boolean
}

const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v)
const RESPONSES_ENDS = ['response.completed', 'response.failed', 'response.incomplete', 'error']
const RESPONSES_OPENINGS = ['response.created', 'response.in_progress']
const DONE = Symbol('done')

/** Blocks ending in a blank line, then what is left after the last one. */
function blocks(text: Buffer): { whole: Buffer[]; rest: Buffer } {
  const whole: Buffer[] = []
  let at = 0
  for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', at)) {
    whole.push(text.subarray(at, end + 2))
    at = end + 2
  }
  return { whole, rest: text.subarray(at) }
}

function decode(block: Buffer): SseEvent[] {
  const p = createSseParser({ dispatchIncompleteOnEnd: true })
  return [...p.push(block), ...p.end()]
}

/** Each event's value, or the data of the first one that is not JSON. */
function values(protocol: CallerProtocol, evs: SseEvent[]): { vals: unknown[] } | { bad: string } {
  const vals: unknown[] = []
  for (const e of evs) {
    if (protocol === 'openai' && e.data === '[DONE]') vals.push(DONE)
    else {
      try {
        vals.push(JSON.parse(e.data))
      } catch {
        return { bad: e.data }
      }
    }
  }
  return { vals }
}

function isOpening(protocol: CallerProtocol, e: SseEvent, j: any): boolean {
  if (j === DONE) return false
  if (protocol === 'anthropic') return e.event === 'message_start' || e.event === 'ping'
  if (protocol === 'responses') return RESPONSES_OPENINGS.includes(e.event ?? j?.type)
  const cs = j?.choices
  if (!Array.isArray(cs) || cs.length === 0 || (j.usage !== undefined && j.usage !== null)) return false
  let role = false
  for (const c of cs) {
    if (c?.finish_reason != null || !(c?.delta !== null && typeof c?.delta === 'object')) return false
    for (const [k, v] of Object.entries(c.delta)) {
      if (k === 'role') role ||= v != null
      else if (!((k === 'content' || k === 'refusal') && (v === '' || v === null))) return false
    }
  }
  return role
}

/** Are these whole blocks all opening? (A block without data — comments — is.) */
function openingOnly(protocol: CallerProtocol, text: Buffer): boolean {
  return blocks(text).whole.every((b) => {
    const evs = decode(b)
    const v = values(protocol, evs)
    return 'vals' in v && evs.every((e, i) => isOpening(protocol, e, v.vals[i]))
  })
}

function reference(protocol: CallerProtocol, strip: boolean, choices: number, usageRequested: boolean, text: Buffer): Outcome {
  const { whole, rest } = blocks(text)
  const out: Buffer[] = []
  let complete = false
  let malformed: string | undefined
  let usage: Usage | undefined
  const finished = new Set<number>()
  for (const block of whole) {
    const evs = decode(block)
    const v = values(protocol, evs)
    if ('bad' in v) {
      malformed = v.bad.length > 80 ? `${v.bad.slice(0, 80)}…` : v.bad
      break
    }
    let drop = false
    evs.forEach((e, i) => {
      const j = v.vals[i] as any
      if (j === DONE) {
        complete = true
        return
      }
      if (protocol === 'openai') {
        if (Array.isArray(j?.choices)) for (const c of j.choices) if (c?.finish_reason != null) finished.add(Number(c.index ?? 0))
        if (isObject(j?.usage)) {
          usage = usageFromOpenAI(j.usage)
          if (strip && Array.isArray(j.choices) && j.choices.length === 0) drop = true
        }
      } else if (protocol === 'anthropic') {
        if (e.event === 'message_stop' || j?.type === 'message_stop') complete = true
        const u = j?.type === 'message_start' ? j.message?.usage : j?.usage
        if (isObject(u)) {
          const next = usageFromAnthropic(u)
          usage = usage ? { ...usage, ...next, inputTokens: next.inputTokens || usage.inputTokens } : next
        }
      } else {
        if (RESPONSES_ENDS.includes(e.event ?? j?.type)) complete = true
        if (isObject(j?.response?.usage)) usage = usageFromResponses(j.response.usage)
      }
    })
    if (!drop) out.push(block)
  }
  if (malformed === undefined) out.push(rest)
  return {
    out: Buffer.concat(out).toString('latin1'),
    complete,
    malformed,
    usage,
    finishedWithoutMarker: protocol === 'openai' && malformed === undefined && finished.size >= choices && (!usageRequested || usage !== undefined),
  }
}

// ---- the streams: real ones, then mutated, reshaped and re-chunked --------------------------------

interface Ev { event?: string; data: unknown }
const parseStream = (text: string): Ev[] =>
  decode(Buffer.from(text)).map((e) => ({ ...(e.event !== undefined && { event: e.event }), data: e.data === '[DONE]' ? DONE : JSON.parse(e.data) }))

const responses = new ResponsesEvents({ id: 'resp_1', model: 'gpt-4o', usage: { input_tokens: 5, output_tokens: 3 } })
  .opening().message(0, 'msg_1', ['Hel', 'lo ', 'response.completed']).completed([messageItem('msg_1', 'Hello response.completed')])
// Closes without [DONE]: judged by its finishes.
const nTwo: Ev[] = [0, 1].flatMap((index): Ev[] => [
  { data: { id: 'c', object: 'chat.completion.chunk', choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] } },
  { data: { id: 'c', object: 'chat.completion.chunk', choices: [{ index, delta: { content: `choice ${index}` }, finish_reason: null }] } },
]).concat([0, 1].map((index): Ev => ({ data: { id: 'c', object: 'chat.completion.chunk', choices: [{ index, delta: {}, finish_reason: index ? 'length' : 'stop' }] } })))

const STREAM_SEEDS: { protocol: CallerProtocol; events: Ev[] }[] = [
  { protocol: 'openai', events: parseStream(fixture('openai/stream-text.sse')) },
  { protocol: 'openai', events: parseStream(fixture('openai/stream-parallel-tool-calls.sse')) },
  { protocol: 'openai', events: parseStream(chatChunks('c1', 'gpt-4o', ['Hi', ' "usage": {', ' data: [DONE]'], { usage: true }).join('')) },
  { protocol: 'openai', events: nTwo },
  { protocol: 'anthropic', events: parseStream(fixture('anthropic/stream-text.sse')) },
  { protocol: 'anthropic', events: parseStream(fixture('anthropic/stream-tool-use.sse')) },
  { protocol: 'anthropic', events: parseStream(anthropicTextEvents('m1', 'claude', ['Hel', 'lo message_stop']).join('')) },
  { protocol: 'responses', events: parseStream(responses.body()) },
]

/** What a mutated value may become: the members and words the rules look for, in the wrong places too. */
const ODD: unknown[] = [
  null, '', 0, -1.5e3, true, [], {}, 'stop', '[DONE]', 'message_stop', 'message_start', 'ping', 'response.completed', 'response.created', 'error',
  { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 }, { usage: { prompt_tokens: 2, completion_tokens: 2, input_tokens: 7, output_tokens: 3 } },
  { usage: null }, { role: 'assistant' }, { role: null, content: '' }, { content: '', refusal: null }, { finish_reason: 'stop', index: 1 },
  [{ index: 1, delta: {}, finish_reason: 'length' }], [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }], { type: 'message_stop' },
  { type: 'response.completed', response: { usage: { input_tokens: 1, output_tokens: 2 } } }, 'a "usage": {"prompt_tokens": 9} and "finish_reason": "stop"',
  'lines\n\ndata: [DONE]\n\n', '\u00e9\u2713\ud83d\ude00',
]
const ESCAPABLE = /"(usage|finish_reason|role|choices|type|message_st(?:art|op)|ping|response\.[a-z_]+|error)"/g
const BYTES = ['\n', '\n\n', '\r', '\r\n', ':', ' ', '{', '}', '"', '\\', ',', 'data: ', 'event: ', '[DONE]', 'x', '\t', '\u00e9']

function serialize(events: Ev[], rnd: () => number): string {
  const crlf = rnd() < 0.15
  const nl = crlf ? '\r\n' : '\n'
  let text = ''
  for (const e of events) {
    if (rnd() < 0.03) text += `: keep-alive${nl}${rnd() < 0.5 ? '\n' : nl}`
    let head = e.event !== undefined && rnd() < 0.97 ? `event:${rnd() < 0.9 ? ' ' : ''}${e.event}${nl}` : ''
    if (rnd() < 0.02) head = `id: ${Math.floor(rnd() * 100)}${nl}` + head
    let json = e.data === DONE ? '[DONE]' : JSON.stringify(e.data, null, rnd() < 0.05 ? 1 : undefined)
    // Now and then a key or a type written with an escape: the same string to JSON.parse.
    if (rnd() < 0.05) json = json.replace(ESCAPABLE, (m) => `"\\u00${m.charCodeAt(1).toString(16)}${m.slice(2)}`)
    const sep = rnd() < 0.9 ? ' ' : ''
    // Pretty-printed JSON spreads over several data lines, as the spec allows.
    text += head + json.split('\n').map((l) => `data:${sep}${l}`).join(nl) + (crlf && rnd() < 0.5 ? '\r\n' : '\n') + '\n'
  }
  return text
}

function edit(text: string, rnd: () => number): string {
  for (let n = Math.floor(rnd() * 3); n > 0; n--) {
    const at = Math.floor(rnd() * (text.length + 1))
    const s = BYTES[Math.floor(rnd() * BYTES.length)]
    const op = rnd()
    text = op < 0.4 ? text.slice(0, at) + s + text.slice(at) : op < 0.7 ? text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 4)) : text.slice(0, at) + s + text.slice(at + s.length)
  }
  return text
}

function chunks(text: Buffer, rnd: () => number): Buffer[] {
  const r = rnd()
  if (r < 0.2) return [text]
  const out: Buffer[] = []
  // Mostly a few reads, sometimes byte by byte (a slow upstream, a split in every field).
  const mean = r < 0.3 ? 1 : r < 0.6 ? 16 : 200
  for (let at = 0; at < text.length;) {
    const n = Math.max(1, Math.floor(rnd() * 2 * mean))
    out.push(text.subarray(at, at + n))
    at += n
  }
  return out
}

function viaTap(protocol: CallerProtocol, strip: boolean, choices: number, usageRequested: boolean, parts: Buffer[], problems: string[]): Outcome {
  const tap = new SseUsageTap(protocol, strip, choices, usageRequested)
  const out: Buffer[] = []
  for (const p of parts) {
    const o = tap.push(p)
    if (o === undefined) continue
    out.push(o)
    // The opening judgement: push()'s own (a lookup) and from the bytes alone (a copy) both agree with the reference.
    const want = openingOnly(protocol, o)
    if (tap.openingOnly(o) !== want || tap.openingOnly(Buffer.from(o)) !== want) problems.push(`openingOnly(${JSON.stringify(o.toString())}) should be ${want}`)
  }
  const rest = tap.flush()
  if (rest) out.push(rest)
  return { out: Buffer.concat(out).toString('latin1'), complete: tap.complete, malformed: tap.malformed, usage: tap.usage, finishedWithoutMarker: tap.finishedWithoutMarker() }
}

test(`the one-pass tap agrees with decode-every-event on ${STREAMS} mutated, reshaped, re-chunked real streams (FUZZ_SEED=${SEED})`, () => {
  const rnd = prng(SEED)
  const failures: string[] = []
  const seen = { malformed: 0, complete: 0, dropped: 0, openings: 0 }
  for (let n = 0; n < STREAMS && failures.length < 3; n++) {
    const seed = STREAM_SEEDS[n % STREAM_SEEDS.length]
    const events = seed.events.map((e) => (rnd() < 0.08 && e.data !== DONE ? { ...e, data: mutate(e.data, rnd, ODD) } : e))
    if (rnd() < 0.1) events.splice(Math.floor(rnd() * events.length), 1)
    let text = serialize(events, rnd)
    if (rnd() < 0.3) text = edit(text, rnd)
    if (rnd() < 0.1) text = text.slice(0, Math.floor(rnd() * text.length))
    const bytes = Buffer.from(text)
    const strip = seed.protocol === 'openai' && rnd() < 0.5
    const choices = seed.events === nTwo ? 2 : 1
    const usageRequested = strip || rnd() < 0.3
    const problems: string[] = []
    const got = viaTap(seed.protocol, strip, choices, usageRequested, chunks(bytes, rnd), problems)
    const want = reference(seed.protocol, strip, choices, usageRequested, bytes)
    try {
      assert.deepStrictEqual(got, want)
      assert.deepStrictEqual(problems, [])
    } catch (e) {
      failures.push(`stream ${n} (${seed.protocol}, strip=${strip}, n=${choices}): ${JSON.stringify(text)}\n${(e as Error).message}`)
    }
    if (want.malformed !== undefined) seen.malformed++
    if (want.complete) seen.complete++
    if (want.out.length < bytes.length && want.malformed === undefined) seen.dropped++
    const first = bytes.indexOf('\n\n')
    if (first >= 0 && openingOnly(seed.protocol, bytes.subarray(0, first + 2))) seen.openings++
  }
  assert.deepStrictEqual(failures, [])
  // The mutations must reach every rule, or agreement says little.
  for (const [k, v] of Object.entries(seen)) assert.ok(v > STREAMS / 50, `only ${v} streams exercised '${k}'`)
})
