/**
 * One-line structured logs on stderr: `time level message key=value …`. Callers never pass
 * secrets; config values reach logs only as diagnostics, which name references, not values.
 */
import { threadId } from 'node:worker_threads'

export type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const threshold = ORDER[(process.env.SWITCHYARD_LOG_LEVEL as Level) ?? 'info'] ?? 20

export function log(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return
  let line = `${new Date().toISOString()} ${level} [${threadId === 0 ? 'main' : `worker-${threadId}`}] ${message}`
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`
  process.stderr.write(line + '\n')
}
