/**
 * API keys: each one's tenant must exist, its `hash` must be `sha256:<hex>` (normalised to lower
 * case) or its `secret` a reference, read and hashed here once; `expires_at` must be an RFC 3339
 * date-time with a zone; two ids may not share a secret. Only the hash goes into the IR, and no
 * message ever prints a hash or a secret.
 */
import type { KeyIR } from '../ir.js'
import { hashApiKey, parseKeyHash } from '../../shared/api-key-format.js'
import type { ResolveContext } from './context.js'
import { below, where, type LocatedValue } from './positions.js'
import type { MergedConfig, Obj } from './merge.js'

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

export function resolveKeys(config: MergedConfig, ctx: ResolveContext): KeyIR[] {
  const out: KeyIR[] = []
  const byHash = new Map<string, LocatedValue<Obj>>()
  const tenants = [...config.tenants.keys()]
  for (const [id, k] of config.keys) {
    const v = k.value
    ctx.positions.record(['keys', out.length], k)
    if (!config.tenants.has(v.tenant)) {
      ctx.report('SY_CFG_UNKNOWN_TENANT', below(k, 'tenant'), `unknown tenant '${v.tenant}' (known: ${tenants.join(', ') || 'none'})`)
    }
    const hash = v.hash !== undefined ? keyHash(v.hash, k, ctx) : secretHash(id, v.secret, k, ctx)
    if (v.expires_at !== undefined && !(RFC3339.test(v.expires_at) && Number.isFinite(Date.parse(v.expires_at)))) {
      ctx.report('SY_CFG_BAD_KEY', below(k, 'expires_at'), `expires_at ${JSON.stringify(v.expires_at)} is not an RFC 3339 date-time with a zone (e.g. 2026-06-30T00:00:00Z)`)
    }
    if (hash !== undefined) {
      const same = byHash.get(hash)
      if (same) ctx.report('SY_CFG_BAD_KEY', below(k, v.hash !== undefined ? 'hash' : 'secret'), `key '${id}' has the same secret as key '${same.value.id}' (at ${where(same)})`)
      else byHash.set(hash, k)
    }
    out.push({
      id,
      tenant: v.tenant,
      hash: hash ?? '',
      ...(v.models !== undefined && { models: [...v.models] }),
      ...(v.expires_at !== undefined && { expiresAt: v.expires_at }),
      disabled: v.disabled === true,
      ...(v.limits !== undefined && { limits: { ...v.limits } }),
      ...(v.budget !== undefined && { budget: { ...v.budget } }),
    })
  }
  return out
}

function keyHash(text: string, k: LocatedValue<Obj>, ctx: ResolveContext): string | undefined {
  const digest = parseKeyHash(text.trim())
  if (digest) return `sha256:${digest.toString('hex')}`
  // The value may be a pasted key rather than its hash: never quote it.
  ctx.report('SY_CFG_BAD_KEY', below(k, 'hash'), `hash must be 'sha256:' followed by 64 hex digits (the SHA-256 of the key; 'switchyard keys create' writes it); to give the key itself, use secret: \${env:NAME}`)
  return undefined
}

function secretHash(id: string, ref: string, k: LocatedValue<Obj>, ctx: ResolveContext): string | undefined {
  const key = ctx.secrets.text(ref, below(k, 'secret'))
  if (key === undefined) return undefined
  // `collect` mode reads nothing: every reference stands for the same placeholder, which must not
  // look like one secret shared by several keys.
  return hashApiKey(ctx.mode === 'collect' ? `unread:${id}` : key)
}
