/**
 * Structured logs on stderr, one line per event, from every thread of the process.
 *
 * Each thread (the main one and every worker) has its own pino logger over its own SonicBoom
 * destination on file descriptor 2: a worker's lines are written by that worker with fs.write,
 * never posted to the main thread the way `process.stderr` in a worker is. Writes carry whole
 * lines and at most 4 KiB (PIPE_BUF), so lines from different threads never interleave mid-line
 * on a pipe; a reader that stalls costs at most MAX_BUFFERED bytes per thread (later lines are
 * dropped and counted), never a blocked request.
 *
 * Formats (`log.format`): `json` (pino's: `{"level":30,"time":…,"thread":"worker-1","msg":…,…}`)
 * or `pretty`, the default: `time level [thread] message key=value …`, one line, for people and grep.
 *
 * Three streams share the destination: `log()` (filtered by `log.level`), `access()` (one record
 * per request on listeners with `access_log`; not filtered by level) and `audit()` (config changes
 * and admin requests; never filtered).
 *
 * Redaction, whatever the caller passes: fields named like a credential (authorization, x-api-key,
 * api-key, cookie, set-cookie, proxy-authorization, token, api_key, password, secret) are masked at
 * any depth, and every line passes the scrubber the current config installs (its secret values,
 * setLogScrubber) before it is written.
 */
import { threadId } from 'node:worker_threads'
import { hostname } from 'node:os'
import { writeSync } from 'node:fs'
import pino from 'pino'

export type Level = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'json' | 'pretty'
export interface LogSettings {
  readonly level: Level
  readonly format: LogFormat
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }
const MASK = '[redacted]'
/** PIPE_BUF on Linux: a write() of at most this much to a pipe is atomic. */
const MAX_WRITE = 4096
const MAX_BUFFERED = 16 * 1024 * 1024
/** Field names whose values are credentials (compared lower-cased). */
const SECRET_FIELDS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'api_key', 'apikey', 'cookie', 'set-cookie', 'token', 'password', 'secret', 'x-goog-api-key'])

const envLevel = (): Level | undefined => {
  const v = process.env.SWITCHYARD_LOG_LEVEL?.toLowerCase()
  return v !== undefined && v in ORDER ? (v as Level) : undefined
}
const envFormat = (): LogFormat | undefined => {
  const v = process.env.SWITCHYARD_LOG_FORMAT?.toLowerCase()
  return v === 'json' || v === 'pretty' ? v : undefined
}

const THREAD = threadId === 0 ? 'main' : `worker-${threadId}`
const dest = pino.destination({ fd: 2, sync: false, maxWrite: MAX_WRITE, maxLength: MAX_BUFFERED })
let dropped = 0
dest.on('drop', () => dropped++)
// pino flushes its asynchronous destination at exit on the main thread only; a worker does it here.
if (threadId !== 0) process.on('exit', () => flushLog())
let scrub: (line: string) => string = (s) => s
/** Set while an `error` line is written: it goes out synchronously (see toStderr). */
let urgent = false
const toStderr = (line: string): void => {
  if (!urgent) return void dest.write(line)
  // Error lines are rare and often the last words of a thread that is about to exit, when an
  // asynchronous write still queued would be lost: write them now (a full pipe drops the line).
  try { writeSync(2, line) } catch { dropped++ }
}
let sink: (line: string) => void = toStderr
const logger = pino(
  {
    level: 'trace',
    base: { pid: process.pid, hostname: hostname(), thread: THREAD },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label, number) => ({ level: number, level_name: label }) },
    hooks: { streamWrite: (s) => scrub(s) },
  },
  { write: (line: string) => sink(line) },
)

// SWITCHYARD_LOG_LEVEL / SWITCHYARD_LOG_FORMAT, when set, override the config (a one-off debug run).
let threshold = ORDER[envLevel() ?? 'info']
let format: LogFormat = envFormat() ?? 'pretty'

/** Applies the config's `log` section (every snapshot, in every thread): a reload changes the level at once. */
export function configureLog(settings: LogSettings | undefined): void {
  threshold = ORDER[envLevel() ?? settings?.level ?? 'info']
  format = envFormat() ?? settings?.format ?? 'pretty'
}

/** The level and format in force in this thread. */
export function logSettings(): LogSettings & { dropped: number } {
  return { level: (Object.keys(ORDER) as Level[]).find((l) => ORDER[l] === threshold)!, format, dropped }
}

/** Installs the masking of the current config's secret values on every line this thread writes. */
export function setLogScrubber(fn: ((line: string) => string) | undefined): void {
  scrub = fn ?? ((s) => s)
}

export function log(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return
  write(level, message, fields)
}

/** One access-log record (runtime/http/access-log.ts); written whatever the level. */
export function access(record: Record<string, unknown>): void {
  write('info', 'access', record, 'access')
}

/** One audit record (config change, admin request); written whatever the level. */
export function audit(event: string, fields: Record<string, unknown>): void {
  write('info', event, fields, 'audit')
}

function write(level: Level, message: string, fields: Record<string, unknown> | undefined, stream?: 'access' | 'audit'): void {
  const clean = fields === undefined ? undefined : redactFields(fields, 0)
  urgent = level === 'error'
  try {
    if (format === 'json') logger[level](stream === undefined ? clean ?? {} : { log: stream, ...clean }, message)
    else sink(scrub(prettyLine(level, message, clean, stream)))
  } finally {
    urgent = false
  }
}

function prettyLine(level: Level, message: string, clean: Record<string, unknown> | undefined, stream?: 'access' | 'audit'): string {
  let line = `${new Date().toISOString()} ${level} [${THREAD}] ${stream === 'audit' ? 'audit ' : ''}${message}`
  if (clean) for (const k in clean) { const v = clean[k]; if (v !== undefined) line += ` ${k}=${typeof v === 'string' && v !== '' && !/\s/.test(v) ? v : JSON.stringify(v)}` }
  return line + '\n'
}

/** Masks credential-named fields at any depth; returns `fields` itself when nothing needed masking. */
export function redactFields(fields: Record<string, unknown>, depth: number): Record<string, unknown> {
  let out: Record<string, unknown> | undefined
  for (const k in fields) {
    const v = fields[k]
    let next = v
    if (SECRET_FIELDS.has(k.toLowerCase())) next = v === undefined ? v : MASK
    else if (v !== null && typeof v === 'object' && depth < 6 && !(v instanceof Error)) next = Array.isArray(v) ? v.map((x) => (x !== null && typeof x === 'object' ? redactFields(x as Record<string, unknown>, depth + 1) : x)) : redactFields(v as Record<string, unknown>, depth + 1)
    if (next !== v) (out ??= { ...fields })[k] = next
  }
  return out ?? fields
}

/** `/path?key=sk-1&x=2` → `/path?key=[redacted]&x=[redacted]`: query values may be credentials (`?key=`). */
export function redactQuery(urlOrQuery: string): string {
  const q = urlOrQuery.indexOf('?')
  const head = q < 0 ? '' : urlOrQuery.slice(0, q + 1)
  const query = q < 0 ? urlOrQuery : urlOrQuery.slice(q + 1)
  if (query === '') return urlOrQuery
  return head + query.split('&').map((p) => { const i = p.indexOf('='); return i < 0 ? p : `${p.slice(0, i)}=${MASK}` }).join('&')
}

/** Tests: every line this thread writes goes to `fn` instead; undefined sends them to stderr again. */
export function redirectLog(fn: ((line: string) => void) | undefined): void {
  sink = fn ?? toStderr
}

/** Writes what this thread has buffered now (before a deliberate exit). */
export function flushLog(): void {
  try { dest.flushSync() } catch {}
}
