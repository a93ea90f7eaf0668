/**
 * The admin console: static HTML, CSS and JavaScript from the package's `console/` directory
 * (shipped beside schemas/, no build step), served under /console/. The files hold no data: the
 * page reads everything from the admin API with the same fetches an operator's curl makes, sending
 * the admin token it asks for as `Authorization: Bearer` (docs/console.md explains why a cookie
 * was not used). So with `admin.token` the files themselves are open like /healthz, and without
 * one they pass the same loopback-Host check as the API.
 *
 * Every file is read once, when the admin listener starts. The headers forbid what would let
 * another page or an injected string reach the token: scripts only from this origin (no inline
 * script, no eval), no framing, no referrer, no content sniffing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { log } from '../../shared/log.js'
import { statusLine } from '../../shared/uws.js'

type Res = import('uWebSockets.js').HttpResponse
type Req = import('uWebSockets.js').HttpRequest
type Handler = (res: Res, req: Req) => void

export interface ConsoleAsset {
  readonly type: string
  readonly body: Buffer
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

export const CONSOLE_HEADERS: readonly (readonly [string, string])[] = [
  ['content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  // Reloading the page after an upgrade must not mix old and new files.
  ['cache-control', 'no-cache'],
]

/** console/ lives at the package root: ../../../console from src/control/admin, ../../../../console from dist/src/control/admin. */
export function findConsoleDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const up of ['../../..', '../../../..']) {
    const dir = join(here, up, 'console')
    try {
      if (statSync(join(dir, 'index.html')).isFile()) return dir
    } catch {}
  }
  return undefined
}

/** The files of `dir` the console may serve, by name (no subdirectories, known types only). */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> {
  const out = new Map<string, ConsoleAsset>()
  for (const name of readdirSync(dir).sort()) {
    const type = TYPES[extname(name)]
    if (type === undefined || !statSync(join(dir, name)).isFile()) continue
    out.set(name, { type, body: readFileSync(join(dir, name)) })
  }
  return out
}

/**
 * Mounts /console, /console/ and /console/<file>. `open(handler)` is the admin guard with the
 * token requirement lifted (the Host check stays when there is no token).
 */
export function mountConsole(app: import('uWebSockets.js').TemplatedApp, open: (h: Handler) => Handler, dir = findConsoleDir()): void {
  let assets: Map<string, ConsoleAsset> = new Map()
  if (dir === undefined) log('warn', 'admin console files not found (console/ beside schemas/ in the package); /console/ answers 404')
  else assets = loadConsoleAssets(dir)
  const send = (res: Res, name: string) => {
    const a = assets.get(name)
    res.cork(() => {
      if (a === undefined) {
        res.writeStatus(statusLine(404)).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: `no console file '${name}'` }))
        return
      }
      res.writeStatus('200 OK').writeHeader('content-type', a.type)
      for (const [k, v] of CONSOLE_HEADERS) res.writeHeader(k, v)
      res.end(a.body)
    })
  }
  app.get('/console', open((res) => res.cork(() => res.writeStatus(statusLine(308)).writeHeader('location', '/console/').end())))
  app.get('/console/', open((res) => send(res, 'index.html')))
  app.get('/console/:file', open((res, req) => send(res, req.getParameter(0) ?? '')))
}
