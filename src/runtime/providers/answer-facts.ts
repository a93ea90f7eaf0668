/**
 * The answer facts of a traced attempt (AnswerFacts: the model that answered and the finish
 * reasons), read from a forwarded JSON answer through the marks its syntax check left, or from an
 * upstream answer the gateway decoded whole to translate it. A stream's facts are noted by its
 * protocol's rules (stream-rules/) with the helpers here.
 */
import type { AnswerFacts } from '../types.js'
import type { CallerProtocol, UpstreamProtocol } from '../../protocols.js'
import { KeySpotter } from './json-syntax.js'
import { memberOf } from './json-members.js'

/** The members of a JSON answer answerFactsFromJson reads, spotted by the syntax check (isJsonDocument). */
const ANSWER_KEYS = ['model', 'finish_reason', 'choices', 'stop_reason', 'status', 'incomplete_details']
const A_MODEL = 0
const A_FINISH = 1
const A_CHOICES = 2
const A_STOP = 3
const A_STATUS = 4
const A_INCOMPLETE = 5

/**
 * The spotter a traced JSON answer is checked with: `isJsonDocument(body, ANSWER_SPOT)`, then
 * answerFactsFromJson() reads its marks (nothing yields in between, so one instance serves all).
 */
export const ANSWER_SPOT = new KeySpotter(ANSWER_KEYS)

/**
 * The model and finish reasons of a JSON answer in `protocol`, from the marks `spot` left while
 * isJsonDocument checked it: only the values found are decoded (the `choices` array alone when
 * more than one choice finished).
 */
export function answerFactsFromJson(body: Buffer, protocol: CallerProtocol, spot: KeySpotter, facts: AnswerFacts): void {
  const end = body.length
  const model = memberOf(body, spot.top[A_MODEL], end)
  if (typeof model === 'string') facts.model = model
  if (protocol === 'openai') {
    if (spot.seen[A_FINISH] === 1 && spot.seen[A_CHOICES] <= 1) {
      const r = memberOf(body, spot.last[A_FINISH], end)
      if (typeof r === 'string') facts.finishReasons = [r]
    } else if (spot.seen[A_FINISH] > 1) finishReasonsOf(memberOf(body, spot.top[A_CHOICES], end), facts)
  } else if (protocol === 'anthropic') {
    const r = memberOf(body, spot.top[A_STOP], end)
    if (typeof r === 'string') facts.finishReasons = [r]
  } else {
    const status = memberOf(body, spot.top[A_STATUS], end)
    if (typeof status === 'string') facts.finishReasons = [responsesFinish(status, memberOf(body, spot.top[A_INCOMPLETE], end))]
  }
}

/**
 * The same from an upstream answer the gateway decoded whole to translate it, in the upstream's
 * own words (Bedrock's Converse answer names no model: the caller of this keeps the one it sent).
 */
export function answerFactsFromUpstream(body: any, protocol: UpstreamProtocol, facts: AnswerFacts): void {
  const model = protocol === 'gemini' ? body?.modelVersion : body?.model
  if (typeof model === 'string') facts.model = model
  if (protocol === 'openai') finishReasonsOf(body?.choices, facts)
  else if (protocol === 'anthropic') {
    if (typeof body?.stop_reason === 'string') facts.finishReasons = [body.stop_reason]
  } else if (protocol === 'gemini') {
    const cs = body?.candidates
    if (Array.isArray(cs)) for (let i = 0; i < cs.length; i++) noteReason(facts, Number(cs[i]?.index ?? i), cs[i]?.finishReason)
  } else if (typeof body?.stopReason === 'string') facts.finishReasons = [body.stopReason]
}

/** OpenAI choices → finish reasons by choice index. */
function finishReasonsOf(cs: unknown, facts: AnswerFacts): void {
  if (!Array.isArray(cs)) return
  for (const c of cs) noteReason(facts, Number(c?.index ?? 0), c?.finish_reason)
}

/** Choice indexes above this (a request asks for at most 128) are not kept apart. */
const MAX_CHOICE = 127

/** Keeps `reason` as choice `index`'s finish reason (a string only). */
export function noteReason(facts: AnswerFacts, index: number, reason: unknown): void {
  if (typeof reason !== 'string') return
  const i = index >= 0 && index <= MAX_CHOICE ? Math.floor(index) : 0
  ;(facts.finishReasons ??= [])[i] = reason
}

/** A Responses object's finish: its status, or why it is incomplete (`max_output_tokens`, `content_filter`). */
export function responsesFinish(status: string, incomplete: any): string {
  return status === 'incomplete' && typeof incomplete?.reason === 'string' ? incomplete.reason : status
}
