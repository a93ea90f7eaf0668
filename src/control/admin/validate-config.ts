/**
 * POST /config/validate: compiles the YAML in the request body the way `switchyard validate`
 * compiles a file — schema, references, every filter factory once (the dry build), secret
 * references checked and listed but never read — and applies nothing. The answer carries the same
 * `file:line:col: path: message` lines the command prints (`?name=` is the file name they use,
 * default `config.yaml`). 200 when it compiles, 422 when it does not, 413 above MAX_VALIDATE_BYTES.
 *
 * The compile runs on the main thread, which also serves the admin API and runs health checks, so
 * the body is bounded (a large config with thousands of keys is a few hundred KB). Like every
 * admin POST it is refused when a web page of another origin sent it (Origin names another host):
 * without `admin.token` the listener trusts loopback callers, and a page in the operator's browser
 * is one.
 */
import { compileConfig, formatDiagnostic } from '../../compiler/index.js'
import type { Diagnostic } from '../../compiler/diagnostics.js'
import { dryBuild } from '../../runtime/build/dry-build.js'
import { statusLine } from '../../shared/uws.js'
import { queryOf } from './request-query.js'

type Res = import('uWebSockets.js').HttpResponse
type Req = import('uWebSockets.js').HttpRequest
type Handler = (res: Res, req: Req) => void

export const MAX_VALIDATE_BYTES = 1024 * 1024
export const DEFAULT_VALIDATE_NAME = 'config.yaml'
/** A file name, not a path: it only labels the diagnostics (and must not point elsewhere on this host). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

export type ValidateAnswer =
  | { readonly ok: true; readonly version: string; readonly summary: string; readonly warnings: readonly string[]; readonly needs: { readonly env: readonly string[]; readonly files: readonly string[] } }
  | { readonly ok: false; readonly errors: readonly string[]; readonly diagnostics: readonly Diagnostic[] }

/** Compiles `text` as the file `name` without resolving a secret or applying anything. */
export function validateConfigText(name: string, text: string): ValidateAnswer {
  const r = compileConfig([{ name, text }], { source: `file:${name}`, secrets: 'collect', dryBuild })
  if (!r.ok) return { ok: false, errors: r.diagnostics.map(formatDiagnostic), diagnostics: r.diagnostics }
  const ir = r.ir
  const rules = ir.routeTables.reduce((n, t) => n + t.rules.length, 0)
  return {
    ok: true,
    version: ir.version,
    summary: `${name}: ok (version ${ir.version}): ${ir.listeners.length} listeners, ${ir.routeTables.length} route tables (${rules} rules), ${ir.clusters.length} clusters, ${ir.filters.length} filters`,
    warnings: ir.warnings,
    needs: r.needs,
  }
}

/** True when no browser sent it, or the page that did is served by this same host (the console). */
export function sameOriginOrNone(origin: string, host: string): boolean {
  if (origin === '') return true
  try {
    return new URL(origin).host === host.toLowerCase()
  } catch {
    return false
  }
}

export function mountValidate(app: import('uWebSockets.js').TemplatedApp, guarded: (h: Handler) => Handler): void {
  const answer = (res: Res, code: number, body: unknown, close = false) =>
    res.cork(() => res.writeStatus(statusLine(code)).writeHeader('content-type', 'application/json').end(JSON.stringify(body, null, 2), close))
  app.post('/config/validate', guarded((res, req) => {
    const origin = req.getHeader('origin')
    const host = req.getHeader('host')
    const nameParam = new URLSearchParams(queryOf(req)).get('name')
    const length = req.getHeader('content-length')
    if (!sameOriginOrNone(origin, host)) return answer(res, 403, { error: `forbidden: a page of ${origin} may not use the admin API` }, true)
    const name = nameParam === null || nameParam === '' ? DEFAULT_VALIDATE_NAME : nameParam
    if (!NAME.test(name)) return answer(res, 400, { error: `name must be a file name (letters, digits, '.', '_', '-'; at most 100), got '${name}'` }, true)
    const tooLarge = { error: `the config exceeds ${MAX_VALIDATE_BYTES} bytes` }
    if (length !== '' && Number(length) > MAX_VALIDATE_BYTES) return answer(res, 413, tooLarge, true)
    let aborted = false
    res.onAborted(() => (aborted = true))
    const parts: Buffer[] = []
    let size = 0
    let done = false
    res.onData((ab, isLast) => {
      if (done) return
      size += ab.byteLength
      if (size > MAX_VALIDATE_BYTES) {
        done = true
        return answer(res, 413, tooLarge, true)
      }
      // uWS frees `ab` after this callback returns: copy.
      parts.push(Buffer.from(new Uint8Array(ab)))
      if (!isLast) return
      done = true
      // After uWS's parse pass (see runtime/http/after-read.ts): a reply written during it can be dropped.
      setImmediate(() => {
        if (aborted) return
        let result: ValidateAnswer
        try {
          result = validateConfigText(name, Buffer.concat(parts).toString('utf8'))
        } catch (e) {
          return answer(res, 500, { error: `the config compiled but did not build: ${(e as Error)?.message ?? e}` })
        }
        answer(res, result.ok ? 200 : 422, result)
      })
    })
  }))
}
