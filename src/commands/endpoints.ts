/**
 * `switchyard endpoints register`: one endpoint registration in etcd (control/discovery), held by
 * a lease that this process renews. Loaded on use (etcd3 brings gRPC).
 */
import type { Lease } from 'etcd3'
import { createEtcdClient } from '../control/sources/etcd-client.js'
import { etcdErrorMessage } from '../control/sources/etcd-layout.js'
import { parseRegistration, registrationValue } from '../control/discovery/registration.js'
import { formatDiagnostic } from '../compiler/index.js'
import type { EtcdTarget } from './etcd-options.js'
import { UsageError } from './flags.js'

export interface Registration {
  readonly cluster: string
  readonly url: string
  readonly weight: number
  readonly name?: string
  readonly ttlMs: number
}

/** `http://10.0.0.5:8000/v1` → `10.0.0.5-8000`. */
export function defaultName(url: string): string {
  const u = new URL(url)
  return `${u.hostname}-${u.port || (u.protocol === 'https:' ? '443' : '80')}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64)
}

export async function registerEndpoint(r: Registration, target: EtcdTarget): Promise<number> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(r.cluster)) throw new UsageError(`--cluster: not a cluster name: '${r.cluster}'`)
  let name: string
  try {
    name = r.name ?? defaultName(r.url)
  } catch {
    throw new UsageError(`--url: invalid URL '${r.url}'`)
  }
  const key = `${target.prefix}${r.cluster}/${name}`
  const value = registrationValue({ url: r.url, weight: r.weight, name })
  // The gateway's own check, so a registration it would ignore is refused here.
  const check = parseRegistration(key, name, value)
  if (!check.ok) throw new UsageError(formatDiagnostic(check.diagnostic).replace(`${key}:1:1: `, ''))
  const ttl = Math.round(r.ttlMs / 1000)
  if (ttl < 2) throw new UsageError('--ttl: at least 2s')

  const client = createEtcdClient(target.connect)
  let lease: Lease | undefined
  let stopping = false
  let retry: NodeJS.Timeout | undefined
  const where = `${target.connect.endpoints.join(',')} ${key}`

  const register = async (): Promise<void> => {
    if (stopping) return
    const l = client.lease(ttl, { autoKeepAlive: true })
    lease = l
    l.on('lost', (e) => {
      if (stopping || lease !== l) return
      console.error(`switchyard endpoints register: lease lost (${etcdErrorMessage(e)}); registering again`)
      lease = undefined
      retry = setTimeout(() => void register(), 500)
    })
    try {
      await l.put(key).value(value).exec()
      console.log(`registered ${r.url} as ${where} (lease ${await l.grant()}, ttl ${ttl}s)`)
    } catch (e) {
      if (stopping) return
      console.error(`switchyard endpoints register: cannot register at ${where}: ${etcdErrorMessage(e)}; retrying`)
      l.removeAllListeners('lost')
      void l.revoke().catch(() => {})
      lease = undefined
      retry = setTimeout(() => void register(), 1000)
    }
  }
  await register()

  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  stopping = true
  if (retry) clearTimeout(retry)
  // Revoking deletes the key now: gateways drop the endpoint without waiting for the TTL.
  await Promise.race([lease?.revoke().catch(() => {}), new Promise((res) => setTimeout(res, 2000))])
  console.log(`deregistered ${key}`)
  client.close()
  return 0
}
