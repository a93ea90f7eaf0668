/**
 * The rig of the rate-limit integration suites (test/integration/limits-*.test.ts): a gateway
 * config with `api_key` auth and one `rate_limit` filter in front of one OpenAI-format upstream,
 * written as JSON (valid YAML), gateways started on it, official-SDK clients per key, and a load
 * loop that records every answer with its time.
 */
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { createKeyRecord, type KeyRecord } from '../../src/shared/key-records.js'
import { startGateway, type GatewayProcess } from './gateway-process.js'
import { freePort } from './ports.js'

export interface LimitsDoc {
  /** The upstream's base URL (`…/v1`). */
  readonly upstream: string
  /** The top-level `redis` block, if any. */
  readonly redis?: Record<string, unknown>
  readonly prices?: readonly Record<string, unknown>[]
  /** The rate_limit filter's config. */
  readonly rateLimit: Record<string, unknown>
  readonly tenants: readonly Record<string, unknown>[]
  readonly keys: readonly (KeyRecord & Record<string, unknown>)[]
}

export function limitsConfig(admin: number, port: number, d: LimitsDoc): string {
  const doc = {
    admin: { port: admin },
    ...(d.redis && { redis: d.redis }),
    ...(d.prices && { prices: d.prices }),
    listeners: [{ name: 'api', address: '127.0.0.1', port, route_table: 'main', filters: ['keys', 'limits'] }],
    filters: [
      { name: 'keys', type: 'api_key' },
      { name: 'limits', type: 'rate_limit', config: d.rateLimit },
    ],
    tenants: d.tenants,
    keys: d.keys,
    routes: [{ name: 'main', rules: [{ name: 'all', cluster: 'up' }] }],
    clusters: [{ name: 'up', provider: 'openai', endpoints: [{ url: d.upstream }] }],
  }
  return JSON.stringify(doc, null, 1)
}

export interface LimitsGateway {
  readonly gw: GatewayProcess
  readonly port: number
  /** Rewrites the config file (the gateway reloads it). */
  rewrite(d: LimitsDoc): void
}

export async function startLimitsGateway(d: LimitsDoc, opts: { workers?: number } = {}): Promise<LimitsGateway> {
  const port = await freePort()
  let admin = 0
  const gw = await startGateway((a) => limitsConfig((admin = a), port, d), { workers: opts.workers ?? 1, readyTimeoutMs: 60_000 })
  return { gw, port, rewrite: (nd) => gw.writeConfig(limitsConfig(admin, port, nd)) }
}

/** A key for `tenant`: its secret (for the SDKs) and its record (for the config). */
export function keyFor(tenant: string, id: string, extra: Record<string, unknown> = {}): { key: string; record: KeyRecord & Record<string, unknown> } {
  const { key, record } = createKeyRecord({ tenant, id }, Date.now())
  return { key, record: { ...record, ...extra } }
}

/** Counts the HTTP calls an SDK makes (its retries included). */
export function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let n = 0
  return { fetch: ((input: any, init?: any) => (n++, fetch(input, init))) as typeof fetch, calls: () => n }
}

export function openaiClient(port: number, apiKey: string, o: { maxRetries?: number; fetch?: typeof fetch; timeoutMs?: number } = {}): OpenAI {
  return new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, maxRetries: o.maxRetries ?? 0, timeout: o.timeoutMs ?? 10_000, ...(o.fetch && { fetch: o.fetch }) })
}

export function anthropicClient(port: number, apiKey: string, o: { maxRetries?: number; fetch?: typeof fetch; timeoutMs?: number } = {}): Anthropic {
  return new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey, maxRetries: o.maxRetries ?? 0, timeout: o.timeoutMs ?? 10_000, ...(o.fetch && { fetch: o.fetch }) })
}

/** One chat completion through the openai SDK, JSON or streamed to the end. Resolves with the status (200, or the error's). */
export async function chatOnce(c: OpenAI, model: string, o: { stream?: boolean; maxTokens?: number; content?: string } = {}): Promise<number> {
  const messages = [{ role: 'user' as const, content: o.content ?? 'Say hello.' }]
  try {
    if (o.stream) {
      const s = await c.chat.completions.create({ model, messages, stream: true, ...(o.maxTokens !== undefined && { max_tokens: o.maxTokens }) })
      for await (const _ of s) void _
    } else {
      await c.chat.completions.create({ model, messages, ...(o.maxTokens !== undefined && { max_tokens: o.maxTokens }) })
    }
    return 200
  } catch (e) {
    const status = (e as { status?: number }).status
    if (typeof status === 'number') return status
    throw e
  }
}

export interface Outcome {
  readonly status: number
  readonly startedAt: number
  readonly ms: number
}

/**
 * `clients` loops, each calling `call(i, n)` (n: its call count) until `untilMs` (Date.now() time),
 * pausing `pauseMs` after each answer that is not 200. Every answer is recorded with its duration.
 */
export async function hammer(clients: number, untilMs: number, call: (client: number, n: number) => Promise<number>, pauseMs = 20): Promise<Outcome[]> {
  const out: Outcome[] = []
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      for (let n = 0; Date.now() < untilMs; n++) {
        const startedAt = Date.now()
        const status = await call(i, n).catch(() => -1)
        out.push({ status, startedAt, ms: Date.now() - startedAt })
        if (status !== 200) await sleep(pauseMs)
      }
    }),
  )
  return out
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The token-bucket bound of docs/limits.md: at most limit + limit·D/period units over any interval of length D. */
export function bucketBound(limit: number, periodMs: number, durationMs: number): number {
  return limit + (limit * durationMs) / periodMs
}

/** The UTC day of a spend key (docs/limits.md, Budgets). */
export function utcDay(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10)
}
