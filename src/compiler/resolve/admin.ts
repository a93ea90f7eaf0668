/**
 * The `admin` section: where the admin API listens, which extra Host values it answers, and its
 * token. Without a token the API can bind a loopback address only: a non-loopback bind would hand
 * /config to the network.
 */
import type { SnapshotIR } from '../ir.js'
import { isLoopback } from '../../shared/loopback.js'
import type { ResolveContext } from './context.js'
import { below } from './positions.js'
import type { MergedConfig } from './merge.js'

/** Shorter tokens can be guessed; the admin API can read and change what the gateway serves. */
const MIN_TOKEN_LENGTH = 16

export function resolveAdmin(config: MergedConfig, ctx: ResolveContext): SnapshotIR['admin'] {
  const admin = config.admin
  const token = admin?.value.token === undefined ? undefined : ctx.secrets.text(admin.value.token, below(admin, 'token'))
  const ir = {
    address: admin?.value.address ?? '127.0.0.1',
    port: admin?.value.port ?? 9901,
    allowedHosts: ((admin?.value.allowed_hosts ?? []) as string[]).map((h) => h.toLowerCase()),
    ...(token !== undefined && { token }),
  }
  if (admin) ctx.positions.record(['admin'], admin)
  // A literal token is a secret too: the runtime scrubs it like a referenced one.
  if (token !== undefined) ctx.secrets.declare([token])
  if (admin && token !== undefined && ctx.mode === 'resolve' && token.length < MIN_TOKEN_LENGTH) {
    ctx.report('SY_CFG_SECRET', below(admin, 'token'), `admin.token must be at least ${MIN_TOKEN_LENGTH} characters`)
  }
  if (admin && admin.value.token === undefined && !isLoopback(ir.address)) {
    ctx.report('SY_CFG_ADMIN_EXPOSED', below(admin, 'address'), `${JSON.stringify(ir.address)} is not a loopback address: the admin API would be exposed without authentication; a non-loopback bind needs admin.token (e.g. \${env:SWITCHYARD_ADMIN_TOKEN}); or bind 127.0.0.1 and reach it through a tunnel, or through a proxy whose Host is listed in admin.allowed_hosts`)
  }
  return ir
}
