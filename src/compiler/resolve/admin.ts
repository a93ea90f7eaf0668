/** The `admin` section: where the admin API listens and which extra Host values it answers. */
import type { SnapshotIR } from '../ir.js'
import { isLoopback } from '../../shared/loopback.js'
import type { ResolveContext } from './context.js'
import { below } from './positions.js'
import type { MergedConfig } from './merge.js'

export function resolveAdmin(config: MergedConfig, ctx: ResolveContext): SnapshotIR['admin'] {
  const admin = config.admin
  const ir = {
    address: admin?.value.address ?? '127.0.0.1',
    port: admin?.value.port ?? 9901,
    allowedHosts: ((admin?.value.allowed_hosts ?? []) as string[]).map((h) => h.toLowerCase()),
  }
  if (admin) ctx.positions.record(['admin'], admin)
  if (admin && !isLoopback(ir.address)) {
    // The admin API has no authentication yet: a non-loopback bind would hand /config to the network.
    ctx.report('SY_CFG_ADMIN_EXPOSED', below(admin, 'address'), `${JSON.stringify(ir.address)} is not a loopback address: the admin API would be exposed without authentication; a non-loopback bind needs admin.token, which is not available yet (bind 127.0.0.1 and reach it through a tunnel, or through a proxy whose Host is listed in admin.allowed_hosts)`)
  }
  return ir
}
