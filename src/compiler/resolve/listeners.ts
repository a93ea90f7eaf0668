/**
 * Listeners: their route table and filters must exist, and no two of them (or one and the admin
 * API) may share a port.
 */
import type { ListenerIR, SnapshotIR } from '../ir.js'
import { sizeBytes } from '../../shared/units.js'
import type { ResolveContext } from './context.js'
import { below, where, type LocatedValue } from './positions.js'
import type { MergedConfig, Obj } from './merge.js'

export function resolveListeners(config: MergedConfig, admin: SnapshotIR['admin'], ctx: ResolveContext): ListenerIR[] {
  const filterNames = [...config.filters.keys()]
  const out: ListenerIR[] = []
  const ports = new Map<number, LocatedValue<Obj>>()
  if (config.admin && admin.port !== 0) ports.set(admin.port, config.admin)
  for (const [name, l] of config.listeners) {
    const v = l.value
    ctx.positions.record(['listeners', out.length], l)
    const clash = ports.get(v.port)
    if (clash) {
      const what = clash === config.admin ? 'the admin API' : `listener '${clash.value.name}'`
      ctx.report('SY_CFG_PORT_CLASH', below(l, 'port'), `port ${v.port} is already used by ${what} (at ${where(clash)})`)
    } else ports.set(v.port, l)
    if (!config.routes.has(v.route_table)) {
      ctx.report('SY_CFG_UNKNOWN_ROUTE_TABLE', below(l, 'route_table'), `unknown route table '${v.route_table}' (known: ${[...config.routes.keys()].join(', ') || 'none'})`)
    }
    ;(v.filters as string[]).forEach((f, i) => {
      if (!config.filters.has(f)) ctx.report('SY_CFG_UNKNOWN_FILTER', below(l, 'filters', i), `unknown filter '${f}' (known: ${filterNames.join(', ') || 'none'})`)
    })
    out.push({ name, address: v.address, port: v.port, routeTable: v.route_table, filters: v.filters, maxBodyBytes: sizeBytes(v.max_body), protocol: v.protocol, routingHeaders: v.routing_headers !== false, ...(v.access_log === true && { accessLog: true }) })
  }
  if (config.admin === undefined && admin.port !== 0 && ports.has(admin.port)) {
    ctx.report('SY_CFG_PORT_CLASH', below(ports.get(admin.port)!, 'port'), `port ${admin.port} is the admin API's default port; set admin.port`)
  }
  return out
}
