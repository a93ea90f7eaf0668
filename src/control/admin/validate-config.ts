/**
 * POST /config/validate: checks the config in the request body the way `switchyard validate`
 * checks a file (config-check.ts) and applies nothing. The answer carries the same
 * `file:line:col: path: message` lines the command prints (`?name=` is the file name they use,
 * default `config.yaml`): 200 when it compiles, 422 when it does not, 413 above
 * MAX_VALIDATE_BYTES, 429 while several checks wait already, 503 when a check ran out of time or
 * memory. The compile runs in the checker's thread (config-checker.ts), not on the main thread.
 *
 * Like every admin request it needs the token when one is set. It is also refused when a web page
 * of another origin sent it: without `admin.token` the listener trusts loopback callers, and a
 * page in the operator's browser is one.
 */
import { statusLine } from '../../shared/uws.js'
import { ConfigChecker } from './config-checker.js'
import { queryOf } from './request-query.js'

type Res = import('uWebSockets.js').HttpResponse
type Req = import('uWebSockets.js').HttpRequest
type Handler = (res: Res, req: Req) => void

/** A config with thousands of keys is a few hundred KB; a megabyte takes the checker about a second. */
export const MAX_VALIDATE_BYTES = 1024 * 1024
export const DEFAULT_VALIDATE_NAME = 'config.yaml'
/** A file name, not a path: it only labels the diagnostics. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

/** True when no browser sent it, or the page that did is served by this same host (the console). */
export function sameOriginOrNone(origin: string, host: string): boolean {
  if (origin === '') return true
  try {
    return new URL(origin).host === host.toLowerCase()
  } catch {
    return false
  }
}

/** Mounts the endpoint; the returned function stops the checker's thread. */
export function mountValidate(app: import('uWebSockets.js').TemplatedApp, guarded: (h: Handler) => Handler, checker = new ConfigChecker()): () => void {
  const answer = (res: Res, code: number, body: unknown, close = false, headers: [string, string][] = []) =>
    res.cork(() => {
      res.writeStatus(statusLine(code)).writeHeader('content-type', 'application/json')
      for (const [k, v] of headers) res.writeHeader(k, v)
      res.end(JSON.stringify(body, null, 2), close)
    })
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
      checker.check(name, Buffer.concat(parts).toString('utf8')).then((o) => {
        if (aborted) return
        if (o.kind === 'answer') return answer(res, o.answer.ok ? 200 : 422, o.answer)
        if (o.kind === 'busy') return answer(res, 429, { error: 'other configs are being checked; try again in a moment' }, false, [['retry-after', '1']])
        answer(res, 503, { error: o.error })
      })
    })
  }))
  return () => checker.close()
}
