/**
 * Profiling on demand, Node's answer to Go's pprof for production incidents:
 *   POST /debug/profile?worker=<id>&seconds=<s>   a V8 CPU profile (.cpuprofile: Chrome DevTools →
 *                                                 Performance, or VS Code, opens it)
 *   POST /debug/heap?worker=<id>                  a heap snapshot (.heapsnapshot: DevTools → Memory)
 * `worker` is a worker id as /ready and /runtime list them (default: the first worker).
 *
 * Off unless `admin.token` is set (403): a profile shows code paths and a heap snapshot shows
 * memory, request data and credentials included, so they are never open to whoever can reach a
 * loopback port. Bounded: seconds in (0, 60], results capped (MAX_PROFILE_BYTES,
 * MAX_HEAP_BYTES), and one at a time per process (409 while one runs).
 */
import type { GatewayStatus } from '../messages.js'
import type { ProfileRequest } from '../../runtime/profiler.js'
import { statusLine } from '../../shared/uws.js'
import { log } from '../../shared/log.js'
import { queryOf } from './request-query.js'

type Res = import('uWebSockets.js').HttpResponse
type Req = import('uWebSockets.js').HttpRequest
type Handler = (res: Res, req: Req) => void

export const MAX_SECONDS = 60
export const DEFAULT_SECONDS = 10
export const MAX_PROFILE_BYTES = 64 * 1024 * 1024
export const MAX_HEAP_BYTES = 512 * 1024 * 1024

export function mountDebug(app: import('uWebSockets.js').TemplatedApp, guarded: (h: Handler) => Handler, status: GatewayStatus): void {
  let busy = false
  const fail = (res: Res, code: number, error: string, headers: [string, string][] = []) => {
    res.cork(() => {
      res.writeStatus(statusLine(code)).writeHeader('content-type', 'application/json')
      for (const [k, v] of headers) res.writeHeader(k, v)
      res.end(JSON.stringify({ error }))
    })
  }
  const take = (kind: ProfileRequest['kind']): Handler => (res, req) => {
    if (status.ir.admin.token === undefined) return fail(res, 403, 'profiling is off: /debug/profile and /debug/heap need admin.token to be set')
    const params = new URLSearchParams(queryOf(req))
    const w = params.get('worker')
    const worker = w === null || w === '' ? undefined : Number(w)
    if (worker !== undefined && !Number.isInteger(worker)) return fail(res, 400, `worker must be a worker id (as /ready lists them), got '${w}'`)
    const s = params.get('seconds')
    const seconds = kind === 'heap' || s === null || s === '' ? DEFAULT_SECONDS : Number(s)
    if (!(seconds > 0 && seconds <= MAX_SECONDS)) return fail(res, 400, `seconds must be a number above 0 and at most ${MAX_SECONDS}, got '${s}'`)
    if (worker !== undefined && !status.workers.some((x) => x.id === worker)) return fail(res, 404, `no worker ${worker} (workers: ${status.workers.map((x) => x.id).join(', ') || 'none'})`)
    if (status.profile === undefined) return fail(res, 404, 'not served by this gateway')
    if (busy) return fail(res, 409, 'a profile or heap snapshot is being taken; try again when it ends', [['retry-after', String(seconds)]])
    busy = true
    let aborted = false
    res.onAborted(() => (aborted = true))
    const started = Date.now()
    status.profile(worker, { kind, seconds, maxBytes: kind === 'cpu' ? MAX_PROFILE_BYTES : MAX_HEAP_BYTES }).then(
      (r) => {
        busy = false
        if (!r.ok) log('warn', `${kind === 'cpu' ? 'CPU profile' : 'heap snapshot'} failed`, { worker: r.worker ?? worker, error: r.error })
        else log('info', kind === 'cpu' ? 'CPU profile taken' : 'heap snapshot taken', { worker: r.worker, bytes: r.bytes, ms: Date.now() - started })
        if (aborted) return
        if (!r.ok) return fail(res, r.tooLarge ? 413 : 500, r.error)
        const file = `switchyard-worker-${r.worker}-${new Date(started).toISOString().replace(/[:.]/g, '-')}.${kind === 'cpu' ? 'cpuprofile' : 'heapsnapshot'}`
        res.cork(() => {
          res.writeStatus('200 OK').writeHeader('content-type', 'application/json').writeHeader('content-disposition', `attachment; filename="${file}"`)
          const last = r.chunks.length - 1
          for (let i = 0; i < last; i++) res.write(r.chunks[i])
          res.end(last >= 0 ? r.chunks[last] : '')
        })
      },
      (e) => {
        busy = false
        if (!aborted) fail(res, 500, String((e as Error)?.message ?? e))
      },
    )
  }
  const postOnly: Handler = (res) => fail(res, 405, 'use POST', [['allow', 'POST']])
  app.post('/debug/profile', guarded(take('cpu')))
  app.post('/debug/heap', guarded(take('heap')))
  app.get('/debug/profile', guarded(postOnly))
  app.get('/debug/heap', guarded(postOnly))
}
