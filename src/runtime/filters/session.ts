/**
 * `session` filter: keeps conversations on the gateway, so a thin client sends only its new turn.
 * Config: schemas/filters/session.schema.json; the parts live in src/runtime/sessions/.
 *
 * A request names its conversation by the session header (`x-session-id` by default: Chat
 * Completions, Anthropic Messages and the Responses API) or, on the Responses API, by
 * `previous_response_id` — every Responses answer that is not `store: false` is kept under its id,
 * so `previous_response_id` works on any route, including one translated to Anthropic, Gemini or
 * Bedrock, which keep no state of their own. onRequest puts the stored turns in front of the new
 * messages (oldest dropped first to fit the context window; the system prompt kept); onComplete
 * appends the new turn when the answer was a complete success — an error, a truncated answer or a
 * broken stream leave the conversation as it was. `DELETE /v1/responses/{id}` removes a stored
 * answer. Conversations are per tenant: another tenant's session id is a new conversation.
 *
 * Place it first in a listener's filters (after auth): the cache and the token limits then see the
 * whole prompt that goes upstream.
 *
 * @example
 * filters:
 *   - { name: conversations, type: session, config: { ttl: 2h, max_turns: 40, context_window: 200000 } }
 * listeners:
 *   - { name: public, port: 8080, route_table: main, filters: [conversations] }
 */
import type { Filter, FilterDeps, LocalReply, RequestContext } from '../types.js'
import { operationOf } from '../providers/caller.js'
import { errorReply } from '../errors.js'
import { log } from '../../shared/log.js'
import { SessionMemory } from '../../shared/session-memory.js'
import { badId, compileSessionConfig, responseKey, sessionKey, tenantOf, type CompiledSessionConfig, type SessionConfig } from '../sessions/config.js'
import { appendTurn, parseRecord, prepare, type Prepared, type SessionKind, type SessionRecord } from '../sessions/history.js'
import { completedAnswer } from '../sessions/answer.js'
import { LocalSessionStore, type SessionStore, type TurnToken } from '../sessions/session-store.js'
import { RedisSessionStore } from '../sessions/redis-session-store.js'
export type { SessionConfig } from '../sessions/config.js'

/** One request's session state (ctx.filterState), from onRequest to onComplete. */
interface Pending {
  readonly kind: SessionKind
  readonly prepared: Prepared
  /** Where the conversation goes once the answer completed (header-keyed), if anywhere. */
  readonly sessionKey: string | undefined
  /** Store the answer under its own response id too (Responses API, `store` not false). */
  readonly responseKeyOf: ((id: string) => string) | undefined
  /** The turn this request opened on sessionKey (ended by the write, or released). */
  readonly turn: TurnToken | undefined
  parts: Buffer[] | undefined
  size: number
}

const JSON_HEADERS = [['content-type', 'application/json']] as const
/** How long a turn may hold its conversation before the next one reads it anyway (the longest answer). */
const TURN_LEASE_MS = 5 * 60_000
/** How long a previous_response_id that misses waits for its record's write to reach the process's memory store (only a miss waits). */
const EXPECTED_WRITE_MS = 500
let instances = 0

export function create(config: SessionConfig, deps: FilterDeps): Filter {
  const c = compileSessionConfig(config)
  if (c.store === 'redis' && deps.redis === undefined) throw new Error('store: redis needs the top-level redis block')
  const store: SessionStore = c.store === 'redis'
    ? new RedisSessionStore(deps.stores.redis(deps.redis!), deps.redis!.keyPrefix)
    : deps.stores.sessions?.(c.memoryBytes) ?? new LocalSessionStore(new SessionMemory(c.memoryBytes))
  const state = `session#${instances++}`

  const unavailable = (ctx: RequestContext, e: unknown): LocalReply => {
    log('warn', 'session store unavailable', { id: ctx.id, store: c.store, error: (e as Error)?.message ?? String(e) })
    return errorReply(ctx.protocol, 'SY_SESSION_UNAVAILABLE', `the session store (${c.store}) did not answer: the turn is refused rather than sent without its history`)
  }

  return {
    name: 'session',
    onRequest(ctx) {
      const head = ctx.head
      const op = operationOf(head.path)
      if (op === 'stored_response' && head.method === 'DELETE' && c.responses) return deleteResponse(ctx)
      if (head.method !== 'POST' || (op !== 'chat' && op !== 'messages' && op !== 'responses') || !c.operations.has(op)) return undefined
      const json = ctx.json
      if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined
      const tenant = tenantOf(head.identity)
      const id = head.headers[c.header]
      const previous = op === 'responses' && c.responses ? json.previous_response_id : undefined
      const keepsResponse = op === 'responses' && c.responses && json.store !== false
      if (id === undefined && previous == null && !keepsResponse) return undefined
      if (id !== undefined) {
        const bad = badId(id)
        if (bad !== undefined) return errorReply(ctx.protocol, 'SY_SESSION_INVALID', `${c.header} ${bad}`)
      }
      if (previous != null) {
        const bad = typeof previous !== 'string' ? 'must be a string' : badId(previous)
        if (bad !== undefined) return errorReply(ctx.protocol, 'SY_SESSION_INVALID', `previous_response_id ${bad}`, 'previous_response_id')
      }
      const key = id === undefined ? undefined : sessionKey(c, tenant, id)
      // previous_response_id names the history; a session header alone, the conversation so far
      // (read as a turn: its next turn waits for this one's write).
      const from = typeof previous === 'string' ? responseKey(c, tenant, previous) : key
      const turn: TurnToken | undefined = from !== undefined && from === key && store.release !== undefined ? { token: ctx.id, leaseMs: TURN_LEASE_MS } : undefined
      const pending = (record: SessionRecord | undefined): LocalReply | undefined => {
        const limit = c.contextWindows[String(json.model)] ?? c.contextWindow
        const prepared = ctx.finished ? undefined : prepare(op, json, record, { maxTurns: c.maxTurns, contextTokens: limit, reserveOutputTokens: c.reserveOutputTokens })
        if (prepared === undefined) {
          if (turn !== undefined) store.release!(from!, turn)
          return undefined
        }
        ctx.json = prepared.json
        ctx.body = Buffer.from(JSON.stringify(prepared.json))
        const p: Pending = {
          kind: op,
          prepared,
          sessionKey: key,
          responseKeyOf: keepsResponse ? (rid) => responseKey(c, tenant, rid) : undefined,
          turn,
          parts: [],
          size: 0,
        }
        ;(ctx.filterState ??= {})[state] = p
        return undefined
      }
      if (from === undefined) return pending(undefined)
      // A previous_response_id names a record some worker wrote (or is about to: its write is posted as
      // that answer ends, and the caller may be quicker): a miss waits a moment for it.
      return store.get(from, turn, typeof previous === 'string' ? EXPECTED_WRITE_MS : undefined).then(
        (text) => {
          const record = parseRecord(text, op)
          if (record === undefined && typeof previous === 'string') {
            return errorReply(ctx.protocol, 'SY_SESSION_NOT_FOUND', `Previous response with id '${previous}' not found.`, 'previous_response_id')
          }
          return pending(record)
        },
        (e) => unavailable(ctx, e),
      )
    },
    onResponse(ctx) {
      const p = ctx.filterState?.[state] as Pending | undefined
      if (p === undefined) return
      ctx.responseHeaders.push(['x-switchyard-session-turns', String(p.prepared.kept.length)])
      if (p.prepared.dropped > 0) ctx.responseHeaders.push(['x-switchyard-session-dropped', String(p.prepared.dropped)])
      if (ctx.status < 200 || ctx.status >= 300) p.parts = undefined
    },
    onChunk(ctx, chunk) {
      const p = ctx.filterState?.[state] as Pending | undefined
      if (p === undefined || p.parts === undefined) return
      p.size += chunk.length
      if (p.size > c.maxRecordBytes) p.parts = undefined
      else p.parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
    },
    onComplete(ctx) {
      const p = ctx.filterState?.[state] as Pending | undefined
      if (p === undefined) return
      let text: ReturnType<typeof completedRecord>
      try {
        text = completedRecord(ctx, p)
      } finally {
        // Whatever happened, the conversation's next turn must not wait for this one's lease.
        if (text === undefined && p.turn !== undefined) store.release!(p.sessionKey!, p.turn)
      }
      if (text === undefined) return
      const writes: Promise<void>[] = []
      if (p.sessionKey !== undefined) writes.push(store.set(p.sessionKey, text.record, c.ttlMs, p.turn))
      if (p.responseKeyOf !== undefined && text.responseId !== undefined) writes.push(store.set(p.responseKeyOf(text.responseId), text.record, c.ttlMs))
      for (const w of writes) w.catch((e) => log('warn', 'session not stored', { id: ctx.id, store: c.store, error: (e as Error)?.message ?? String(e) }))
    },
  }

  /** The conversation to store after this request, or undefined when its answer is not a complete success. */
  function completedRecord(ctx: RequestContext, p: Pending): { record: string; responseId: string | undefined } | undefined {
    if (p.parts === undefined || p.parts.length === 0 || ctx.status < 200 || ctx.status >= 300) return undefined
    // A broken stream resumed elsewhere is not one clean answer.
    if (ctx.attempt?.continuation !== undefined) return undefined
    const streamed = contentTypeOf(ctx).startsWith('text/event-stream')
    const answer = completedAnswer(p.kind, streamed, p.parts.length === 1 ? p.parts[0] : Buffer.concat(p.parts))
    if (answer === undefined) return undefined
    const record = fitted(appendTurn(p.kind, p.prepared, answer.items, { maxTurns: c.maxTurns, maxTokens: c.maxTokens }), c)
    return record === undefined ? undefined : { record, responseId: answer.responseId }
  }

  /** `DELETE /v1/responses/{id}`: a stored answer of this tenant is removed here; any other goes on upstream. */
  function deleteResponse(ctx: RequestContext): Promise<LocalReply | undefined> | undefined {
    const rest = ctx.head.path.slice(ctx.head.path.indexOf('/responses/') + '/responses/'.length)
    if (rest === '' || rest.includes('/')) return undefined
    let id: string
    try {
      id = decodeURIComponent(rest)
    } catch {
      return undefined
    }
    return store.delete(responseKey(c, tenantOf(ctx.head.identity), id)).then(
      (found) => (found ? { status: 200, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify({ id, object: 'response', deleted: true })) } : undefined),
      (e) => unavailable(ctx, e),
    )
  }
}

/** The record as stored text, its oldest turns dropped until it fits max_record_size; undefined when even one turn does not. */
function fitted(record: SessionRecord, c: CompiledSessionConfig): string | undefined {
  let r = record
  for (;;) {
    const text = JSON.stringify(r)
    if (Buffer.byteLength(text) <= c.maxRecordBytes) return text
    if (r.turns.length <= 1) return undefined
    r = { ...r, turns: r.turns.slice(1) }
  }
}

function contentTypeOf(ctx: RequestContext): string {
  const h = ctx.responseHeaders
  for (let i = 0; i < h.length; i++) if (h[i][0].toLowerCase() === 'content-type') return h[i][1]
  return ''
}
