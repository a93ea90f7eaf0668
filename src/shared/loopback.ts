/**
 * Loopback names and addresses, shared by the compiler (the admin API may only bind one) and the
 * admin API (a `Host` header must name one, or be listed in admin.allowed_hosts). Plain functions
 * of strings, so the policy is tested without a server.
 */
import { isIPv4, isIPv6 } from 'node:net'

/** `localhost`, 127.0.0.0/8, `::1` (any spelling, brackets optional) and `::ffff:127.x.x.x`. */
export function isLoopback(host: string): boolean {
  let h = host.toLowerCase()
  if (h.endsWith('.')) h = h.slice(0, -1)
  if (h === 'localhost') return true
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (isIPv4(h)) return h.startsWith('127.')
  if (!isIPv6(h)) return false
  // The URL parser prints IPv6 in one canonical form: `[::1]`, `[::ffff:7f00:1]` for ::ffff:127.0.0.1.
  let canonical: string
  try {
    canonical = new URL(`http://[${h}]/`).hostname
  } catch {
    return false // a zone id (`fe80::1%eth0`) is never loopback
  }
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical)
}

/**
 * The host part of a `Host` header value (lower-cased, IPv6 without brackets), or undefined if the
 * value is not `host`, `host:port`, `[v6]` or `[v6]:port`. A bare `::1` is taken as an address.
 */
export function hostOfHostHeader(value: string): string | undefined {
  const v = value.trim().toLowerCase()
  if (v === '') return undefined
  if (v.startsWith('[')) {
    const end = v.indexOf(']')
    if (end < 0) return undefined
    const rest = v.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined
    return v.slice(1, end)
  }
  if (isIPv6(v)) return v
  const colon = v.indexOf(':')
  if (colon < 0) return v
  if (!/^\d{1,5}$/.test(v.slice(colon + 1))) return undefined
  return v.slice(0, colon)
}

/**
 * Whether the admin API answers a request with this `Host` value. `allowed` holds lower-cased
 * admin.allowed_hosts entries: one with a port must match exactly, one without allows any port.
 */
export function adminHostAllowed(host: string, allowed: readonly string[]): boolean {
  const name = hostOfHostHeader(host)
  if (name === undefined) return false
  if (isLoopback(name)) return true
  const full = host.trim().toLowerCase()
  return allowed.some((a) => a === full || a === name)
}
