/**
 * OpenAI Chat Completions streams: `data: [DONE]` ends them, and so does every choice's
 * finish_reason (with the usage chunk, when the gateway asked for one) for a stream closed
 * without it; role-only chunks open them; the usage-only chunk the gateway asked for itself is
 * dropped. The rules read two top-level members: `choices` (decoded alone when one is needed) and
 * `usage`.
 */
import type { AnswerFacts } from '../../types.js'
import type { ScannedEvent } from '../sse/event-scan.js'
import { usageFromOpenAI } from '../translate/usage.js'
import { noteReason } from '../answer-facts.js'
import { emptyArrayAt, memberOf } from '../json-members.js'
import { isObject, K_CHOICES, K_FINISH, K_MODEL, K_ROLE, K_USAGE, StreamRules } from './rules.js'

/**
 * Role chunks of the read in progress, not decoded yet: (choices value, data end) pairs. The
 * opening verdict is the AND over the read's events, so they are judged only while it is still
 * true. Shared by every stream: endOfRead() empties it before the tap's push() returns, and
 * nothing in between yields.
 */
const PENDING_ROLES: number[] = []

export class OpenAIStreamRules extends StreamRules {
  override readonly doneMarker = true
  /** Choice indexes that reported a finish_reason. */
  private finished: Set<number> | undefined
  /** Events scanEvent saw a non-null finish_reason in: their `choices` value, decoded by finishedWithoutMarker(). */
  private unreadFinishes: { b: Buffer; at: number; end: number }[] | undefined

  /**
   * `strip`: drop usage-only chunks (the client did not ask for them). `choices` (the request's
   * `n`) and `usageRequested` judge a stream that ends without `[DONE]`.
   */
  constructor(facts: AnswerFacts | undefined, private readonly strip: boolean, private readonly choices: number, private readonly usageRequested: boolean) {
    super(facts)
  }

  scanned(b: Buffer, ev: ScannedEvent): boolean {
    if (ev.done) {
      this.complete = true
      this.judging = false
      return false
    }
    const k = ev.keys
    let drop = false
    // Finishes matter only to a stream that ends without its marker (decoded then, if ever), or
    // to a traced one (decoded now: a few events per stream).
    const facts = this.facts
    if (k.seen[K_FINISH] > 0) {
      if (facts !== undefined) this.noteFinishes(memberOf(b, k.top[K_CHOICES], ev.dataEnd))
      else (this.unreadFinishes ??= []).push({ b, at: k.top[K_CHOICES], end: ev.dataEnd })
    }
    if (facts !== undefined && facts.model === undefined) {
      const m = memberOf(b, k.top[K_MODEL], ev.dataEnd)
      if (typeof m === 'string') facts.model = m
    }
    const u = k.top[K_USAGE]
    if (u >= 0 && b[u] === 0x7b) {
      this.usage = usageFromOpenAI(memberOf(b, u, ev.dataEnd) as any)
      drop = this.strip && emptyArrayAt(b, k.top[K_CHOICES], ev.dataEnd)
    }
    // A chunk without a role is never an opening (most chunks), nor one with usage. One with a
    // role is decoded only if the verdict still depends on it when the read is done (PENDING_ROLES):
    // in a read that also carries real output, it does not.
    if (this.judging && !drop) {
      if (!(k.seen[K_ROLE] > 0 && (u < 0 || b[u] === 0x6e))) this.judging = false
      else PENDING_ROLES.push(k.top[K_CHOICES], ev.dataEnd)
    }
    return drop
  }

  override endOfRead(b: Buffer): void {
    const roles = PENDING_ROLES
    if (roles.length === 0) return
    for (let i = 0; i < roles.length && this.judging; i += 2) this.judging = choicesOpening(memberOf(b, roles[i], roles[i + 1]))
    roles.length = 0
  }

  parsed(_type: string | undefined, j: any): boolean {
    this.noteFinishes(j?.choices)
    const facts = this.facts
    if (facts !== undefined && facts.model === undefined && typeof j?.model === 'string') facts.model = j.model
    const u = j?.usage
    if (!isObject(u)) return false
    this.usage = usageFromOpenAI(u)
    // The usage-only chunk the gateway asked for itself.
    return this.strip && Array.isArray(j.choices) && j.choices.length === 0
  }

  isOpening(_type: string | undefined, j: any): boolean {
    // No usage, and choices that are (see choicesOpening).
    return (j?.usage === undefined || j.usage === null) && choicesOpening(j?.choices)
  }

  /**
   * A stream that closed without `[DONE]` is still whole when every choice reported its
   * finish_reason and, when the gateway asked for usage, the usage chunk arrived.
   */
  override finishedWithoutMarker(): boolean {
    const unread = this.unreadFinishes
    if (unread !== undefined) {
      this.unreadFinishes = undefined
      for (const f of unread) this.noteFinishes(memberOf(f.b, f.at, f.end))
    }
    return (this.finished?.size ?? 0) >= this.choices && (!this.usageRequested || this.usage !== undefined)
  }

  private noteFinishes(cs: unknown): void {
    if (!Array.isArray(cs)) return
    for (const c of cs) {
      if (c?.finish_reason == null) continue
      ;(this.finished ??= new Set()).add(Number(c.index ?? 0))
      if (this.facts !== undefined) noteReason(this.facts, Number(c.index ?? 0), c.finish_reason)
    }
  }
}

/**
 * Every choice's delta holds nothing but the role (at least one does), empty content or a null
 * refusal, and none has finished.
 */
function choicesOpening(cs: unknown): boolean {
  if (!Array.isArray(cs) || cs.length === 0) return false
  let role = false
  for (const c of cs) {
    const d = c?.delta
    if (c?.finish_reason != null || d === null || typeof d !== 'object') return false
    for (const [k, v] of Object.entries(d)) {
      if (k === 'role') role ||= v != null
      else if (!((k === 'content' || k === 'refusal') && (v === '' || v === null))) return false
    }
  }
  return role
}
