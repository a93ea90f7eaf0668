/**
 * Active health checks of kserve_grpc endpoints (main thread, control/health-checks.ts): the
 * endpoint is healthy when `ServerLive` says live and, with `kserve.ready_model`, `ModelReady`
 * says that model is ready, each within the check's timeout. One channel per endpoint, kept
 * between checks and closed when checking stops.
 */
import type * as Grpc from '@grpc/grpc-js'
import type { KserveIR } from '../../../compiler/ir.js'
import type { HealthProbe } from '../../resilience/health-checker.js'
import { grpcTarget, loadGrpc, type InferenceClient } from './grpc-loader.js'

export function createKserveProbe(k: KserveIR): HealthProbe {
  const clients = new Map<string, InferenceClient>()
  const clientFor = (origin: string) => {
    let c = clients.get(origin)
    if (!c) {
      const { grpc, Client } = loadGrpc()
      const { address, tls } = grpcTarget(origin)
      c = new Client(address, tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
      clients.set(origin, c)
    }
    return c
  }
  return {
    async check(target, timeoutMs, signal) {
      const client = clientFor(target.origin)
      const metadata = new (loadGrpc().grpc.Metadata)()
      const auth = target.headers?.authorization
      if (auth !== undefined) metadata.set('authorization', auth)
      const live = await unary<{ live: boolean }>((cb) => client.ServerLive({}, metadata, { deadline: Date.now() + timeoutMs }, cb), signal)
      if (typeof live === 'string') return `ServerLive: ${live}`
      if (!live.live) return 'ServerLive: not live'
      if (k.readyModel === undefined) return undefined
      const ready = await unary<{ ready: boolean }>((cb) => client.ModelReady({ name: k.readyModel!, version: k.modelVersion }, metadata, { deadline: Date.now() + timeoutMs }, cb), signal)
      if (typeof ready === 'string') return `ModelReady(${k.readyModel}): ${ready}`
      return ready.ready ? undefined : `ModelReady(${k.readyModel}): not ready`
    },
    close() {
      for (const c of clients.values()) c.close()
      clients.clear()
    },
  }
}

/** One unary call: its answer, or why it failed as text. */
function unary<T>(start: (cb: (err: Grpc.ServiceError | null, res?: T) => void) => Grpc.ClientUnaryCall, signal: AbortSignal): Promise<T | string> {
  return new Promise((resolve) => {
    const call = start((err, res) => {
      signal.removeEventListener('abort', cancel)
      resolve(err ? err.details || err.message : (res as T))
    })
    const cancel = () => call.cancel()
    signal.addEventListener('abort', cancel, { once: true })
  })
}
