/**
 * Tenant from a header set by an authenticating proxy in front of the gateway (oauth2-proxy, an
 * API gateway, a service mesh), believed only when the TCP peer is one of the configured proxy
 * addresses. Anyone else could set the same header, so from any other peer it is ignored.
 *
 * Only the direct peer counts: `X-Forwarded-For` is written by the very clients this guards
 * against. Addresses and CIDRs, IPv4 and IPv6, go into a node:net BlockList once per snapshot;
 * it also matches IPv4-mapped IPv6 peers (`::ffff:10.0.0.7`, as a dual-stack socket reports them)
 * against IPv4 rules.
 *
 * @example
 * const trusted = compileTrustedHeader({ header: 'X-Auth-Tenant', sources: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1'] })
 * trusted.tenantOf('10.1.2.3', ctx.headers)   // { ok: true, tenant: 'acme' }
 */
import { BlockList, isIP } from 'node:net'

export interface TrustedHeaderConfig {
  /** The header the proxy sets; matched case-insensitively. */
  readonly header: string
  /** Peer addresses allowed to set it: `10.0.0.7`, `10.0.0.0/8`, `::1`, `fd00::/8`. */
  readonly sources: readonly string[]
}

export type TrustedTenant =
  | { readonly ok: true; readonly tenant: string }
  /** `untrusted_source`: the header came from a peer that is not a configured proxy (it is ignored). */
  | { readonly ok: false; readonly reason: 'missing' | 'untrusted_source' | 'invalid' }

export interface TrustedHeader {
  /** The lower-cased header name, for stripping it before the request goes upstream. */
  readonly header: string
  /** Hot path. `peer` is the socket's remote address as text. */
  tenantOf(peer: string, headers: Readonly<Record<string, string | undefined>>): TrustedTenant
  /** Whether `peer` is one of the configured proxies. */
  trusts(peer: string): boolean
}

/** Tenant names as the proxy may send them: what a config `tenants[].name` can be. */
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Parses one `sources` entry; the message names the entry, for the compiler's diagnostic. */
function addSource(list: BlockList, source: string): string | undefined {
  const slash = source.indexOf('/')
  const address = slash < 0 ? source : source.slice(0, slash)
  const family = isIP(address)
  if (family === 0) return `source ${JSON.stringify(source)} is not an IP address or CIDR`
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (slash < 0) {
    list.addAddress(address, type)
    return undefined
  }
  const bits = source.slice(slash + 1)
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
  if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return `source ${JSON.stringify(source)}: prefix length must be 0-${family === 4 ? 32 : 128}`
  list.addSubnet(address, prefix, type)
  return undefined
}

/** Builds the check; throws listing every bad source entry. An empty `sources` list is an error: it would trust no one. */
export function compileTrustedHeader(config: TrustedHeaderConfig): TrustedHeader {
  const header = config.header.toLowerCase()
  const list = new BlockList()
  const problems = config.sources.map((s) => addSource(list, s.trim())).filter((p): p is string => p !== undefined)
  if (config.sources.length === 0) problems.push('sources must list at least one proxy address')
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) problems.push(`header ${JSON.stringify(config.header)} is not a valid header name`)
  if (problems.length > 0) throw new Error(`trusted_header: ${problems.join('; ')}`)

  const trusts = (peer: string): boolean => {
    // uWS and node may report a zone (`fe80::1%eth0`); the zone is not part of the rule.
    const zone = peer.indexOf('%')
    const address = zone < 0 ? peer : peer.slice(0, zone)
    const family = isIP(address)
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
  }
  return {
    header,
    trusts,
    tenantOf(peer, headers) {
      const value = headers[header]
      if (value === undefined) return { ok: false, reason: 'missing' }
      if (!trusts(peer)) return { ok: false, reason: 'untrusted_source' }
      const tenant = value.trim()
      return TENANT_RE.test(tenant) ? { ok: true, tenant } : { ok: false, reason: 'invalid' }
    },
  }
}
