/**
 * Admin API on its own port (default 127.0.0.1:9901), served by the main thread:
 * /healthz, /ready, /config (version, source, reload state, effective config, secrets redacted),
 * /runtime (uWS build per thread).
 */
import type { GatewayStatus } from '../supervisor.js'
import { uws, uwsBuild, statusLine } from '../uws.js'
import { log } from '../log.js'

export interface AdminHandle {
  readonly port: number
  close(): void
}

export function startAdmin(address: string, port: number, status: GatewayStatus): AdminHandle {
  const app = uws.App()
  const json = (res: import('uWebSockets.js').HttpResponse, code: number, body: unknown) => {
    res.cork(() => res.writeStatus(statusLine(code)).writeHeader('content-type', 'application/json').end(JSON.stringify(body, null, 2)))
  }
  const ready = () => {
    const v = status.ir.version
    const behind = status.workers.filter((w) => w.version !== v || w.error)
    // A source that cannot reach its backend (etcd down) does not make us unready: the last good
    // snapshot keeps serving. Its state is reported for operators.
    const source = status.source.health?.()
    return { ready: !status.shuttingDown && status.workers.length > 0 && behind.length === 0, version: v, shutting_down: status.shuttingDown, workers: status.workers, ...(source && { source }) }
  }
  app.get('/healthz', (res) => json(res, 200, { status: 'ok' }))
  app.get('/ready', (res) => {
    const r = ready()
    json(res, r.ready ? 200 : 503, r)
  })
  app.get('/config', (res) =>
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
  )
  app.get('/runtime', (res) =>
    json(res, 200, {
      uws: uwsBuild,
      workers: status.workers.map((w) => ({ id: w.id, uws: w.uws })),
      node: process.version,
      pid: process.pid,
      uptime_s: Math.round(process.uptime()),
      rss_bytes: process.memoryUsage.rss(),
    }),
  )
  app.get('/clusters', (res) => {
    let aborted = false
    res.onAborted(() => (aborted = true))
    const query = status.clusters ? status.clusters() : Promise.resolve({})
    query.then(
      (body) => { if (!aborted) json(res, 200, body) },
      (e) => { if (!aborted) json(res, 500, { error: String(e) }) },
    )
  })
  app.any('/*', (res) => json(res, 404, { error: 'not found', endpoints: ['/healthz', '/ready', '/config', '/runtime', '/clusters'] }))
  const held: { socket: import('uWebSockets.js').us_listen_socket | false } = { socket: false }
  app.listen(address, port, (s) => {
    held.socket = s
  })
  if (!held.socket) throw new Error(`admin API cannot listen on ${address}:${port}`)
  log('info', 'admin API', { address, port })
  return {
    port,
    close: () => {
      if (held.socket) uws.us_listen_socket_close(held.socket)
      held.socket = false
    },
  }
}
