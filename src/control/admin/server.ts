/**
 * Admin API on its own port (default 127.0.0.1:9901), served by the main thread:
 * /healthz, /ready, /config (version, source, reload state, effective config, secrets redacted),
 * /config/history (the versions applied, newest first, what changed, who pushed; each with its config),
 * /runtime (uWS build per thread), /rollouts (progressive canaries; POST …/pause|resume|abort).
 *
 * /cache: the response caches (hit / miss / bypass / refresh per route, entries and bytes per
 * worker); DELETE /cache?route=<rule>&tenant=<name> invalidates. /sessions/<id>?tenant=<name>: a
 * conversation of the session filters; DELETE removes it.
 *
 * /tenants and /keys (by id: never a secret or a hash); /tenants/<name> and /keys/<id> add where
 * their limits stand and what they have spent.
 *
 * /metrics (Prometheus text, every worker summed) and /experiments (weighted splits per variant):
 * control/metrics/.
 *
 * /console/: the admin console, static files reading this API (console.ts); POST /config/validate
 * checks a config without applying it, in a thread of its own (validate-config.ts).
 *
 * Without `admin.token` the compiler only lets it bind a loopback address, and every request must
 * carry a loopback `Host` (or one from admin.allowed_hosts): otherwise a web page could point its
 * own DNS name at 127.0.0.1 (DNS rebinding) and read /config from the browser. With a token, every
 * endpoint but /healthz and /ready needs `Authorization: Bearer <token>` instead (a page cannot
 * know it), and the address may be any.
 */
import type { GatewayStatus } from '../messages.js'
import { adminHostAllowed } from '../../shared/loopback.js'
import { requestLineOf, uws, uwsBuild, statusLine } from '../../shared/uws.js'
import { log } from '../../shared/log.js'
import { adminTokenAccepted, describeKeys, describeTenants } from './identity.js'
import { METRICS_CONTENT_TYPE } from '../metrics/scrape.js'
import { auditAdminRequest } from '../audit-records.js'
import { mountDebug } from './debug.js'
import { mountModels } from './models.js'
import { peerOf, queryOf } from './request-query.js'
import { mountConsole } from './console.js'
import { mountValidate } from './validate-config.js'

const UWS_FALLBACK_WARNING = 'uWebSockets.js runs its slow JavaScript fallback, not its native addon: expect a fraction of the throughput'

export interface AdminHandle {
  readonly port: number
  close(): void
}

/** Answers with what `query` resolves to, unless the client left meanwhile; 404 when this gateway has no such query. */
function answerLater<T>(res: import('uWebSockets.js').HttpResponse, query: (() => Promise<T>) | undefined, send: (body: T) => void): void {
  let aborted = false
  res.onAborted(() => (aborted = true))
  const fail = (code: number, error: string) => res.writeStatus(statusLine(code)).writeHeader('content-type', 'application/json').end(JSON.stringify({ error }))
  if (query === undefined) return void res.cork(() => fail(404, 'not served by this gateway'))
  query().then(
    (body) => { if (!aborted) res.cork(() => send(body)) },
    (e) => { if (!aborted) res.cork(() => fail(500, String((e as Error)?.message ?? e))) },
  )
}

/** Probes and scrapes, audited only when refused: they come every few seconds and change nothing. */
const QUIET_PATHS = new Set(['/healthz', '/ready', '/metrics'])

/**
 * Audits this admin request once its status is written (admin-audit: audit-records.ts). uWS gives
 * no hook for that, so this response's writeStatus is wrapped; every answer here writes one.
 */
function audited(res: import('uWebSockets.js').HttpResponse, req: import('uWebSockets.js').HttpRequest, authenticated: boolean): void {
  const path = req.getUrl()
  const method = req.getMethod().toUpperCase()
  const query = queryOf(req)
  const peer = peerOf(res)
  const startedAt = performance.now()
  const writeStatus = res.writeStatus
  res.writeStatus = function (line: string) {
    res.writeStatus = writeStatus
    const status = parseInt(line, 10)
    if (!(QUIET_PATHS.has(path) && status !== 401 && status !== 403)) auditAdminRequest({ method, path, query, peer, authenticated, status, startedAt })
    return writeStatus.call(res, line)
  }
}

export async function startAdmin(address: string, port: number, status: GatewayStatus): Promise<AdminHandle> {
  const app = uws.App()
  const json = (res: import('uWebSockets.js').HttpResponse, code: number, body: unknown) => {
    res.cork(() => res.writeStatus(statusLine(code)).writeHeader('content-type', 'application/json').end(JSON.stringify(body, null, 2)))
  }
  type Handler = (res: import('uWebSockets.js').HttpResponse, req: import('uWebSockets.js').HttpRequest) => void
  // Every route goes through the Host check. allowed_hosts is read from the current snapshot, so a
  // reload that changes it applies at once.
  // The token, like allowed_hosts, is read from the current snapshot: a reload that sets or
  // rotates it applies at once.
  // A handler that throws synchronously (decodeURIComponent on a malformed `%` escape) must answer
  // an error, not escape into uWS: that takes the whole process down.
  const run = (handler: Handler, res: import('uWebSockets.js').HttpResponse, req: import('uWebSockets.js').HttpRequest) => {
    try {
      handler(res, req)
    } catch (e) {
      const malformed = e instanceof URIError
      if (!malformed) log('error', 'admin request failed', { error: (e as Error)?.message ?? String(e) })
      try {
        json(res, malformed ? 400 : 500, { error: malformed ? 'malformed percent-encoding in the path' : 'internal error' })
      } catch {} // it had answered (or the client left) before it threw
    }
  }
  const guarded = (handler: Handler, open = false): Handler => (res, req) => {
    const token = status.ir.admin.token
    const authenticated = token !== undefined && adminTokenAccepted(req.getHeader('authorization'), token)
    audited(res, req, authenticated)
    if (token !== undefined) {
      if (open || authenticated) return run(handler, res, req)
      return res.cork(() => res.writeStatus(statusLine(401)).writeHeader('content-type', 'application/json').writeHeader('www-authenticate', 'Bearer realm="switchyard-admin"').end(JSON.stringify({ error: 'unauthorized: send Authorization: Bearer <admin.token>' })))
    }
    if (adminHostAllowed(req.getHeader('host'), status.ir.admin.allowedHosts)) run(handler, res, req)
    else json(res, 403, { error: 'forbidden: the admin API answers only requests whose Host header is a loopback name or address, or listed in admin.allowed_hosts' })
  }
  const ready = () => {
    const v = status.ir.version
    const behind = status.workers.filter((w) => w.version !== v || w.error)
    // A source that cannot reach its backend (etcd down) does not make us unready: the last good
    // snapshot keeps serving. Its state is reported for operators.
    const source = status.source.health?.()
    // Redis away makes the host unready only where that refuses everything anyway (failure_mode closed).
    const redis = status.limits?.health(status.ir)
    return {
      ready: !status.shuttingDown && status.workers.length > 0 && behind.length === 0 && !(redis && redis.required && !redis.ready),
      version: v, shutting_down: status.shuttingDown, workers: status.workers,
      uws: uwsBuild, ...(uwsBuild !== 'native' && { warnings: [UWS_FALLBACK_WARNING] }), ...(source && { source }),
      ...(redis && { redis: redis.ready ? 'ready' : 'unavailable' }),
    }
  }
  app.get('/healthz', guarded((res) => json(res, 200, { status: 'ok' }), true))
  app.get('/ready', guarded((res) => {
    const r = ready()
    json(res, r.ready ? 200 : 503, r)
  }, true))
  app.get('/tenants', guarded((res) => json(res, 200, describeTenants(status.ir))))
  app.get('/keys', guarded((res) => json(res, 200, describeKeys(status.ir, Date.now()))))
  // One tenant or key with where its limits stand and what it has spent (read-only).
  const usage = (find: (ir: typeof status.ir, name: string) => { tenant: string; keyId?: string; view: unknown } | undefined): Handler => (res, req) => {
    const name = decodeURIComponent(req.getParameter(0) ?? '')
    const ir = status.ir
    const found = find(ir, name)
    if (found === undefined) return json(res, 404, { error: `not found: '${name}'` })
    let aborted = false
    res.onAborted(() => (aborted = true))
    const limits = status.limits ? status.limits.describe(ir, found.tenant, found.keyId) : Promise.resolve({ usage: [] })
    limits.then(
      (u) => { if (!aborted) json(res, 200, { ...(found.view as object), ...(u as object) }) },
      (e) => { if (!aborted) json(res, 500, { error: String((e as Error)?.message ?? e) }) },
    )
  }
  app.get('/tenants/:name', guarded(usage((ir, name) => {
    const view = describeTenants(ir).tenants.find((t) => t.name === name)
    return view && { tenant: name, view }
  })))
  app.get('/keys/:id', guarded(usage((ir, id) => {
    const view = describeKeys(ir, Date.now()).keys.find((k) => k.id === id)
    return view && { tenant: view.tenant, keyId: id, view }
  })))
  app.get('/config', guarded((res) =>
    json(res, 200, {
      version: status.ir.version,
      source: status.ir.source,
      loaded_at: status.loadedAt,
      last_reload: status.lastReload ?? null,
      last_error: status.lastReload && !status.lastReload.ok ? status.lastReload.errors : null,
      ...(status.source.health && { source_health: status.source.health() }),
      workers: status.workers.map((w) => ({ id: w.id, version: w.version ?? null, ports: w.ports, error: w.error ?? null })),
      config: status.ir.effective,
    }),
  ))
  app.get('/config/history', guarded((res) => json(res, 200, { history: status.history?.list() ?? [] })))
  app.get('/config/history/:version', guarded((res, req) => {
    const version = decodeURIComponent(req.getParameter(0) ?? '')
    const found = status.history?.get(version)
    if (found === undefined) return json(res, 404, { error: `version '${version}' is not in this gateway's history (the versions applied since it started, the last 50)` })
    json(res, 200, found)
  }))
  app.get('/runtime', guarded((res) =>
    json(res, 200, {
      uws: uwsBuild,
      ...(uwsBuild !== 'native' && { warnings: [UWS_FALLBACK_WARNING] }),
      workers: status.workers.map((w) => ({ id: w.id, uws: w.uws })),
      node: process.version,
      pid: process.pid,
      uptime_s: Math.round(process.uptime()),
      rss_bytes: process.memoryUsage.rss(),
    }),
  ))
  app.get('/clusters', guarded((res) => {
    let aborted = false
    res.onAborted(() => (aborted = true))
    const query = status.clusters ? status.clusters() : Promise.resolve({})
    query.then(
      (body) => { if (!aborted) json(res, 200, body) },
      (e) => { if (!aborted) json(res, 500, { error: String(e) }) },
    )
  }))
  app.get('/metrics', guarded((res) => answerLater(res, status.metrics, (body) => res.writeStatus('200 OK').writeHeader('content-type', METRICS_CONTENT_TYPE).end(body))))
  app.get('/experiments', guarded((res) => answerLater(res, status.experiments, (body) => res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(JSON.stringify(body, null, 2)))))

  // /cache: the response caches' counts and sizes; DELETE /cache?route=&tenant= removes the entries
  // a route filled and/or a tenant's (neither: all) from every worker's memory tier.
  const cache = (purge: boolean): Handler => (res, req) => {
    const q = purge ? new URLSearchParams(requestLineOf(req).query) : undefined
    const by = q === undefined ? undefined : { ...(q.get('route') && { route: q.get('route')! }), ...(q.get('tenant') && { tenant: q.get('tenant')! }) }
    let aborted = false
    res.onAborted(() => (aborted = true))
    const query = status.cache ? status.cache(by) : Promise.resolve({})
    query.then(
      (body) => { if (!aborted) json(res, 200, body) },
      (e) => { if (!aborted) json(res, 500, { error: String(e) }) },
    )
  }
  app.get('/cache', guarded(cache(false)))
  app.del('/cache', guarded(cache(true)))
  // /sessions/<id>?tenant=<name>: a conversation of the session filters (id: a session header's value or
  // a stored Responses answer's id; tenant `-`, the default, for listeners without auth). DELETE removes it.
  const session = (remove: boolean): Handler => (res, req) => {
    const id = decodeURIComponent(req.getParameter(0) ?? '')
    const tenant = new URLSearchParams(requestLineOf(req).query).get('tenant') || '-'
    const admin = status.sessions
    answerLater<unknown>(res, admin && ((): Promise<unknown> => (remove ? admin.remove(status.ir, id, tenant).then((n) => ({ id, tenant, deleted: n })) : admin.find(status.ir, id, tenant))), (body) => {
      const missing = Array.isArray(body) && body.length === 0
      res.writeStatus(statusLine(missing ? 404 : 200)).writeHeader('content-type', 'application/json')
        .end(JSON.stringify(missing ? { error: `no conversation '${id}' for tenant '${tenant}' in any session filter's store` } : Array.isArray(body) ? { id, tenant, found: body } : body, null, 2))
    })
  }
  app.get('/sessions/:id', guarded(session(false)))
  app.del('/sessions/:id', guarded(session(true)))
  // Progressive canaries (control/rollouts.ts). The commands change traffic, so a request a web
  // page could send (it carries Origin) is refused even from a loopback Host: POSTs are CLI-only.
  app.get('/rollouts', guarded((res) => json(res, 200, { rollouts: status.rollouts?.list() ?? [] })))
  app.post('/rollouts/:table/:rule/:command', guarded((res, req) => {
    if (req.getHeader('origin') !== '') return json(res, 403, { error: 'forbidden: rollout commands are not accepted from browsers (the request carried Origin); use switchyard rollout' })
    const command = req.getParameter(2)
    if (command !== 'pause' && command !== 'resume' && command !== 'abort') return json(res, 404, { error: `unknown rollout command '${command}' (pause, resume, abort)` })
    const id = `${decodeURIComponent(req.getParameter(0) ?? '')}/${decodeURIComponent(req.getParameter(1) ?? '')}`
    // With etcd the command is stored there first (every host follows it), so it answers later.
    let aborted = false
    res.onAborted(() => (aborted = true))
    const r = status.rollouts?.command(id, command) ?? Promise.resolve({ ok: false as const, status: 404, error: 'no rollouts in this gateway' })
    r.then(
      (r) => { if (!aborted) json(res, r.ok ? 200 : r.status, r.ok ? r.rollout : { error: r.error }) },
      (e) => { if (!aborted) json(res, 500, { error: String((e as Error)?.message ?? e) }) },
    )
  }))
  mountDebug(app, guarded, status)
  mountConsole(app, (h) => guarded(h, true))
  const closeValidate = mountValidate(app, guarded)
  mountModels(app, guarded, status)
  app.any('/*', guarded((res) => json(res, 404, { error: 'not found', endpoints: ['/healthz', '/ready', '/config', '/runtime', '/clusters', '/tenants', '/tenants/<name>', '/keys', '/keys/<id>', '/config/history', '/config/history/<version>', '/metrics', '/experiments', '/cache', '/sessions/<id>?tenant=', '/rollouts', 'POST /rollouts/<table>/<rule>/{pause,resume,abort}', 'POST /debug/profile', 'POST /debug/heap', '/models', '/models/<name>', '/console/', 'POST /config/validate?name='] })))
  const held: { socket: import('uWebSockets.js').us_listen_socket | false } = { socket: false }
  // The native addon calls back before listen() returns; the JavaScript fallback only later.
  await new Promise<void>((resolve) => {
    app.listen(address, port, (s) => {
      held.socket = s
      resolve()
    })
  })
  if (!held.socket) throw new Error(`admin API cannot listen on ${address}:${port}`)
  log('info', 'admin API', { address, port })
  return {
    port,
    close: () => {
      closeValidate()
      if (held.socket) uws.us_listen_socket_close(held.socket)
      held.socket = false
    },
  }
}
