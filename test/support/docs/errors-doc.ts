/**
 * docs/errors.md, rendered from the error catalogs: src/runtime/errors.ts (what the data plane
 * answers) and src/compiler/diagnostics.ts (config diagnostics). test/docs/errors-doc.test.ts
 * compares the file with this rendering; SWITCHYARD_WRITE_DOCS=1 makes it write the file instead.
 */
import {
  EventStreamFailures, RuntimeErrors, StatusTypedErrors, UpstreamFailures, anthropicErrorType, openAIErrorType, type CatalogEntry,
} from '../../../src/runtime/errors.js'
import { DiagnosticCodes } from '../../../src/compiler/diagnostics.js'

/** Codes raised outside both catalogs (internal conditions, never an HTTP answer of their own). */
export const OTHER_CODES = {
  SY_ETCD_UNAVAILABLE: 'the etcd config source cannot be reached (src/control/sources/etcd.ts); the running config keeps serving',
  SY_REDIS_UNAVAILABLE: 'Redis cannot be reached within its command timeout (src/runtime/limits/redis-connection.ts); each limit follows its failure_mode',
} as const

/** The statuses the status → type table shows. */
const STATUSES = [400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529]

const cell = (s: string) => s.replace(/\|/g, '\\|')
const code = (s: string | null) => (s === null ? 'null' : `\`${s}\``)
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`
const table = (head: string[], rows: string[][]) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n')

export function renderErrorsDoc(): string {
  const answered = Object.entries(RuntimeErrors).map(([c, e]: [string, CatalogEntry]) => [
    `\`${c}\``, String(e.status), code(e.openaiType), code(e.openaiCode !== undefined ? e.openaiCode : c.toLowerCase()), code(e.anthropicType),
    e.message !== undefined ? `${e.means}. Message: "${e.message}"` : e.means,
  ])
  const statusTyped = Object.entries(StatusTypedErrors).map(([c, e]) => [`\`${c}\``, code(e.openaiCode), e.means])
  const fault = StatusTypedErrors.SY_FAULT_INJECTED
  const byStatus = STATUSES.map((s) => [String(s), code(openAIErrorType(s)), code(anthropicErrorType(s)), code(fault.openaiType(s)), code(fault.anthropicType(s))])
  const refused = Object.entries(UpstreamFailures).map(([c, m]) => [`\`${c}\``, `"${m}"`])
  const evs = Object.entries(EventStreamFailures).map(([c, m]) => [`\`${c}\``, m])
  const config = Object.entries(DiagnosticCodes).map(([c, m]) => [`\`${c}\``, m])
  const other = Object.entries(OTHER_CODES).map(([c, m]) => [`\`${c}\``, m])
  return `# Errors

<!-- Generated from src/runtime/errors.ts and src/compiler/diagnostics.ts by test/support/docs/errors-doc.ts.
     Do not edit by hand: change the catalog, then run
     SWITCHYARD_WRITE_DOCS=1 node scripts/run-tests.js errors-doc -->

Every error the gateway answers speaks the caller's protocol (invariant 5): OpenAI error JSON
\`{ "error": { "message", "type", "param", "code" } }\` on OpenAI and Responses API routes, Anthropic
error JSON \`{ "type": "error", "error": { "type", "message" } }\` on Anthropic routes. A stream that
already started ends with an error event of the same shape instead. No message carries a stack
trace or an internal URL; a relayed upstream message has anything key-like redacted.

## Errors the gateway answers

The status and both types are fixed per code. OpenAI's \`param\` is \`null\` except for
\`SY_TRANSLATE_UNSUPPORTED\`, where it names the field that cannot be translated (\`n\`, \`tools[0]\`).

${table(['Code', 'Status', 'OpenAI type', 'OpenAI code', 'Anthropic type', 'Meaning'], answered)}

## Errors typed by their status

Some errors carry a status the gateway does not choose: an upstream's own error relayed to a caller
of another protocol (an Anthropic 429 said again as OpenAI error JSON, or an error event of a
translated stream; these have no \`SY_\` code, their OpenAI \`code\` is the provider's meaning, such
as \`rate_limit_exceeded\` or \`context_length_exceeded\`), and a fault filter's configured abort.
Their types follow the status, as the relayed columns below show (a plugin's reply, JS or WASM, is
typed the same way); the fault filter's are coarser.

${table(['Code', 'OpenAI code', 'Meaning'], statusTyped)}

${table(['Status', 'relayed: OpenAI type', 'relayed: Anthropic type', 'SY_FAULT_INJECTED: OpenAI type', 'SY_FAULT_INJECTED: Anthropic type'], byStatus)}

## Refused upstream answers

An answer the transport delivered but the gateway refuses. Each is an upstream failure like a
reset: retried or failed over while the client has seen nothing, else answered as
\`SY_UPSTREAM_CONNECT\` (or an error event on a started stream) as "cluster '<name>' failed: " and
this message, or a more precise one.

${table(['Code', 'Message'], refused)}

## Bedrock event-stream failures

A Bedrock stream whose binary framing is broken. Handled like a refused answer, but the client's
message ends in the generic "the upstream request failed"; the code and byte offset are for the log.

${table(['Code', 'Meaning'], evs)}

## Config diagnostics

Reported as \`source:line:col: path: message\` by \`switchyard validate\`, at startup and on reload (the
running config keeps serving).

${table(['Code', 'Meaning'], config)}

## Other codes

${table(['Code', 'Meaning'], other)}
`
}
