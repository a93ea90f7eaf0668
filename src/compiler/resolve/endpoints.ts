/**
 * A cluster's endpoints: configured ones (URL and api_key resolved, URL userinfo turned into a
 * Basic credential), or the provider's default URL when none is configured, or for `mock` its
 * built-in upstream.
 */
import type { ClusterDiscoveryIR, EndpointIR } from '../ir.js'
import { PLACEHOLDER } from '../references.js'
import { redactUrl, urlCredentials } from '../credentials.js'
import { PROVIDER_PRESETS } from '../provider-presets.js'
import type { ResolveContext } from './context.js'
import { below, type LocatedValue } from './positions.js'
import type { Obj } from './merge.js'

/** `irPath` is the cluster's own (`clusters[2]`); each endpoint is recorded below it. */
export function resolveEndpoints(name: string, c: LocatedValue<Obj>, irPath: readonly (string | number)[], ctx: ResolveContext): EndpointIR[] {
  const v = c.value
  const preset = PROVIDER_PRESETS[v.provider as keyof typeof PROVIDER_PRESETS]
  const endpoints: EndpointIR[] = []
  const registered = v.discovery ? ctx.discovered[name] ?? [] : []
  // Registrations replace the configured endpoints while there are any (docs/discovery.md).
  const fromRegistry = registered.length > 0
  const configured = fromRegistry || (v.endpoints as Obj[]).length > 0
  const list: Obj[] = fromRegistry
    ? registered.map((r) => ({ url: r.url, weight: r.weight, name: r.name, key: r.key, ...(v.discovery.api_key !== undefined && { api_key: v.discovery.api_key }) }))
    : configured
    ? v.endpoints
    : preset.defaultUrl
      ? [{ url: typeof preset.defaultUrl === 'string' ? preset.defaultUrl : preset.defaultUrl(v.bedrock.region), weight: 1 }]
      : []
  list.forEach((e, i) => {
    // A registration has no position of its own: its problems point at `discovery` and name the key.
    const at = fromRegistry ? below(c, 'discovery') : below(c, 'endpoints', i)
    const loc = fromRegistry ? at : configured ? below(at, 'url') : below(c, 'provider')
    const of = fromRegistry ? ` (registered at etcd key ${e.key})` : ''
    let written = fromRegistry ? (e.url as string) : configured ? ctx.secrets.text(e.url, loc) : (e.url as string)
    if (written === undefined) return
    let url: URL
    try {
      url = new URL(written)
    } catch {
      // Unresolved, `${env:BASE}/v1` or `http://h:${env:PORT}` cannot be checked here; the gateway host will.
      if (ctx.mode === 'collect' && written !== e.url) url = new URL((written = `http://${PLACEHOLDER}.invalid`))
      else {
        ctx.report('SY_CFG_BAD_URL', loc, `invalid URL ${JSON.stringify(redactUrl(written))}${of}`)
        return
      }
    }
    const isMockUrl = url.protocol === 'mock:'
    if (v.provider !== 'mock' && isMockUrl) ctx.report('SY_CFG_BAD_URL', loc, `provider '${v.provider}' needs an http(s) URL, got ${JSON.stringify(redactUrl(written))}${of}`)
    const creds = urlCredentials(written, url)
    if (creds) ctx.secrets.declare(creds.secrets)
    let basePath = isMockUrl ? '' : url.pathname.replace(/\/+$/, '')
    if (basePath === '') basePath = preset.defaultBasePath
    if (v.provider === 'gemini') basePath = basePath.replace(/\/v1beta$/, '')
    const apiKey = e.api_key === undefined ? undefined : ctx.secrets.secret(e.api_key, below(at, 'api_key'))
    // URL userinfo becomes `authorization: Basic …`, the endpoint's one credential (undici would drop it).
    if (creds && apiKey !== undefined) ctx.report('SY_CFG_BAD_URL', loc, `endpoint URL ${JSON.stringify(creds.display)} has credentials and api_key is set too; use one of them`)
    if (creds && v.provider === 'bedrock') ctx.report('SY_CFG_BAD_URL', loc, `provider 'bedrock' signs requests with SigV4; remove the credentials from endpoint URL ${JSON.stringify(creds.display)}`)
    const basicAuth = creds && !isMockUrl ? creds.basicAuth : undefined
    // Unresolved, the URL is shown as written (explain), not with placeholders.
    const display = creds?.display ?? (ctx.mode === 'collect' && configured ? redactUrl(e.url) : written)
    const healthPath = v.health_check && v.health_check.path === undefined ? defaultHealthPath(v.provider, preset.protocol, basePath, v.azure.api_version) : undefined
    ctx.positions.record([...irPath, 'endpoints', endpoints.length], configured ? at : loc)
    endpoints.push({
      url: display, name: e.name ?? String(i), origin: isMockUrl ? display : url.origin, basePath, weight: e.weight ?? 1,
      ...(apiKey !== undefined && { apiKey }), ...(basicAuth !== undefined && { basicAuth }), ...(healthPath !== undefined && { healthPath }),
    })
  })
  if (v.provider === 'mock' && endpoints.length === 0) {
    ctx.positions.record([...irPath, 'endpoints', 0], below(c, 'provider'))
    endpoints.push({ url: `mock://${name}`, name: '0', origin: `mock://${name}`, basePath: '', weight: 1 })
  }
  return endpoints
}

/** A health check every provider's API answers with the endpoint's credentials: its model list. */
function defaultHealthPath(provider: string, protocol: string, basePath: string, azureApiVersion: string): string | undefined {
  if (provider === 'azure_openai') return `${basePath}/openai/models?api-version=${encodeURIComponent(azureApiVersion)}`
  // gRPC backends are checked with ServerLive / ModelReady (control/health-checks.ts), not a path.
  if (provider === 'kserve_grpc') return undefined
  if (protocol === 'openai' || protocol === 'anthropic') return `${basePath}/models`
  if (protocol === 'gemini') return `${basePath}/v1beta/models`
  return undefined
}

/** `discovery: { etcd: { endpoints, prefix } }` → where this cluster's registrations live. */
export function resolveDiscovery(name: string, d: Obj, registered: number): ClusterDiscoveryIR {
  const root = String(d.etcd.prefix)
  const prefix = `${root.endsWith('/') ? root : `${root}/`}${name}/`
  return { etcdEndpoints: (d.etcd.endpoints as string[]).map((u) => u.replace(/\/$/, '')), prefix, registered }
}
