/**
 * The `session` filter's settings, compiled once (schemas/filters/session.schema.json), and the
 * keys it stores conversations under: namespace, tenant, then `s:<session id>` for a header-keyed
 * conversation or `r:<response id>` for a stored Responses API answer. The admin API builds the
 * same keys from the same config.
 */
import { durationMs, sizeBytes } from '../../shared/units.js'
import type { SessionKind } from './history.js'

/** As in schemas/filters/session.schema.json (validated, defaults filled by the compiler). */
export interface SessionConfig {
  header?: string
  operations?: SessionKind[]
  responses?: boolean
  ttl?: string
  max_turns?: number
  max_tokens?: number
  context_window?: number
  context_windows?: Record<string, number>
  reserve_output_tokens?: number
  max_record_size?: string
  namespace?: string
  store?: 'memory' | 'redis'
  memory?: { max_bytes?: string }
}

export interface CompiledSessionConfig {
  readonly header: string
  readonly operations: ReadonlySet<SessionKind>
  readonly responses: boolean
  readonly ttlMs: number
  readonly maxTurns: number
  readonly maxTokens: number
  readonly contextWindow: number
  readonly contextWindows: Readonly<Record<string, number>>
  readonly reserveOutputTokens: number
  readonly maxRecordBytes: number
  readonly namespace: string
  readonly store: 'memory' | 'redis'
  readonly memoryBytes: number
}

export function compileSessionConfig(c: SessionConfig): CompiledSessionConfig {
  const ttlMs = durationMs(c.ttl ?? '1h')
  if (!(ttlMs > 0)) throw new Error('ttl must be greater than 0')
  const memoryBytes = sizeBytes(c.memory?.max_bytes ?? '64mb')
  const maxRecordBytes = sizeBytes(c.max_record_size ?? '1mb')
  if (maxRecordBytes > memoryBytes) throw new Error(`max_record_size (${c.max_record_size}) is larger than memory.max_bytes (${c.memory?.max_bytes ?? '64mb'})`)
  const contextWindow = c.context_window ?? 128_000
  const reserve = c.reserve_output_tokens ?? 4096
  if (reserve >= contextWindow) throw new Error(`reserve_output_tokens (${reserve}) must be below context_window (${contextWindow})`)
  return {
    header: (c.header ?? 'x-session-id').toLowerCase(),
    operations: new Set(c.operations ?? ['chat', 'messages', 'responses']),
    responses: c.responses !== false,
    ttlMs,
    maxTurns: c.max_turns ?? 50,
    maxTokens: c.max_tokens ?? 32_000,
    contextWindow,
    contextWindows: c.context_windows ?? {},
    reserveOutputTokens: reserve,
    maxRecordBytes,
    namespace: c.namespace ?? 'default',
    store: c.store ?? 'memory',
    memoryBytes,
  }
}

/** The tenant a request's conversations belong to: its identity's, or `-` on a listener without auth. */
export function tenantOf(identity: { tenant: string } | undefined): string {
  return identity?.tenant ?? '-'
}

export function sessionKey(c: CompiledSessionConfig, tenant: string, id: string): string {
  return `${encodeURIComponent(c.namespace)}:${encodeURIComponent(tenant)}:s:${encodeURIComponent(id)}`
}

export function responseKey(c: CompiledSessionConfig, tenant: string, id: string): string {
  return `${encodeURIComponent(c.namespace)}:${encodeURIComponent(tenant)}:r:${encodeURIComponent(id)}`
}

/** Why an id cannot name a conversation, or undefined when it can. */
export function badId(id: string): string | undefined {
  if (id.length === 0) return 'is empty'
  if (id.length > 256) return 'is longer than 256 characters'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'has control characters'
  return undefined
}
