/**
 * The model registry as the admin API shows it (`GET /models`, `GET /models/<name or alias>`) and
 * `switchyard models list|show` prints it, from a running gateway or a config file: each model
 * with its metadata (the fields `GET /v1/models` adds), its provider ids per cluster, which
 * listeners list it (and through which clusters) and whether it is deprecated now.
 */
import type { ModelIR, SnapshotIR } from '../../compiler/ir.js'
import { listedModels, modelMetadata } from '../../runtime/models/listing.js'

export interface ModelView {
  readonly name: string
  readonly aliases: readonly string[]
  readonly provider_ids: Readonly<Record<string, string>>
  readonly owned_by?: string
  readonly context_window?: number
  readonly max_output_tokens?: number
  readonly capabilities: Readonly<Record<string, boolean>>
  readonly pricing?: { readonly input: number; readonly output: number; readonly cached_input: number; readonly per: string }
  readonly deprecated_at?: string
  readonly replacement?: string
  readonly rewrite_to_replacement: boolean
  /** `active`, or `deprecated` once deprecated_at has passed. */
  readonly status: 'active' | 'deprecated'
  /** Listener name → the cluster(s) it routes the model to, for listeners that list it. */
  readonly listeners: Readonly<Record<string, string>>
}

export function describeModels(ir: SnapshotIR, now: number): { models: ModelView[] } {
  const tables = new Map(ir.routeTables.map((t) => [t.name, t]))
  const listings = ir.listeners.map((l) => ({ name: l.name, listed: listedModels(tables.get(l.routeTable)!, ir) }))
  return { models: (ir.models ?? []).map((m) => describeModel(m, listings, now)) }
}

function describeModel(m: ModelIR, listings: readonly { name: string; listed: Map<string, string> }[], now: number): ModelView {
  const listeners: Record<string, string> = {}
  for (const l of listings) {
    const by = l.listed.get(m.name)
    if (by !== undefined) listeners[l.name] = by
  }
  return {
    name: m.name,
    aliases: m.aliases,
    provider_ids: m.providerIds,
    ...(m.ownedBy !== undefined && { owned_by: m.ownedBy }),
    ...(modelMetadata(m) as Omit<ModelView, 'name' | 'aliases' | 'provider_ids' | 'rewrite_to_replacement' | 'status' | 'listeners'>),
    rewrite_to_replacement: m.rewriteToReplacement,
    status: m.deprecatedAtMs !== undefined && m.deprecatedAtMs <= now ? 'deprecated' : 'active',
    listeners,
  }
}

/** One model by name or alias. */
export function findModel(views: readonly ModelView[], nameOrAlias: string): ModelView | undefined {
  return views.find((v) => v.name === nameOrAlias) ?? views.find((v) => v.aliases.includes(nameOrAlias))
}

type Handler = (res: import('uWebSockets.js').HttpResponse, req: import('uWebSockets.js').HttpRequest) => void

/** Mounts GET /models and GET /models/:name on the admin app (server.ts), behind its guard. */
export function mountModels(app: import('uWebSockets.js').TemplatedApp, guarded: (h: Handler) => Handler, status: { readonly ir: SnapshotIR }): void {
  const json = (res: import('uWebSockets.js').HttpResponse, code: number, body: unknown) =>
    res.cork(() => res.writeStatus(code === 200 ? '200 OK' : '404 Not Found').writeHeader('content-type', 'application/json').end(JSON.stringify(body, null, 2)))
  app.get('/models', guarded((res) => json(res, 200, { version: status.ir.version, ...describeModels(status.ir, Date.now()) })))
  app.get('/models/:name', guarded((res, req) => {
    const name = decodeURIComponent(req.getParameter(0) ?? '')
    const found = findModel(describeModels(status.ir, Date.now()).models, name)
    if (found === undefined) return json(res, 404, { error: `no model or alias '${name}' in the registry (${(status.ir.models ?? []).map((m) => m.name).join(', ') || 'none configured'})` })
    json(res, 200, found)
  }))
}
