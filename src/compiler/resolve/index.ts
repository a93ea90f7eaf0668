/**
 * Semantic pass: one walk over the validated documents (merge by kind, and check every string for
 * reference look-alikes), then each kind resolved from the merged config: names and references
 * checked, secrets resolved, everything lowered to the plain-data SnapshotIR. Problems are
 * appended to `diags`. Alongside the IR comes the IR path → source map, so whatever checks the
 * IR later (the dry build's filter factories) reports at `file:line:col` too.
 */
import type { Diagnostic } from '../diagnostics.js'
import type { LoadedDoc } from '../load.js'
import type { Reference } from '../references.js'
import type { SnapshotIR } from '../ir.js'
import { collectSecrets } from '../credentials.js'
import { durationMs } from '../../shared/units.js'
import { createContext, type ResolveOptions } from './context.js'
import { emptyConfig, mergeDoc } from './merge.js'
import { referenceSyntaxProblems } from './secrets.js'
import { resolveAdmin } from './admin.js'
import { resolveTelemetry } from './telemetry.js'
import { resolveLog } from './log.js'
import { resolveBatches } from './batches.js'
import { resolveFilters } from './filters.js'
import { resolveClusters } from './clusters.js'
import { contentCaptureWarnings, continuationWarnings, resolveRouteTables } from './routes.js'
import { resolveListeners } from './listeners.js'
import { resolveTenants } from './tenants.js'
import { resolveKeys } from './keys.js'
import { reportRedisNeeds, resolveRedis } from './redis.js'
import { resolvePrices } from './prices.js'
import { resolveModels } from './models.js'
import { effectiveConfig } from './effective.js'
import type { SourcePositions } from './positions.js'

export type { ResolveOptions } from './context.js'
export type { SourcePositions } from './positions.js'

export interface Resolution {
  readonly body: Omit<SnapshotIR, 'version' | 'source'>
  /** Every reference the config holds, in order of appearance (duplicates included). */
  readonly needs: readonly Reference[]
  /** Where each part of the IR was written. */
  readonly positions: SourcePositions
  /** Files the config reads besides its sources (WASM and plugin modules), absolute. */
  readonly files: readonly string[]
  /** Plugin module URLs the caller has yet to load (resolve/plugins.ts). */
  readonly pluginsToLoad: readonly string[]
}

export function resolveDocs(docs: readonly LoadedDoc[], diags: Diagnostic[], opts: ResolveOptions): Resolution {
  const ctx = createContext(diags, opts)
  const config = emptyConfig()
  // Reference look-alikes are reported after everything else, as they always were: diagnostics at
  // one position keep the order they were found in.
  const syntax: Diagnostic[] = []
  for (const doc of docs) {
    mergeDoc(config, doc, ctx)
    syntax.push(...referenceSyntaxProblems(doc))
  }
  const admin = resolveAdmin(config, ctx)
  const drainTimeoutMs = durationMs(config.runtime?.value.drain_timeout ?? '30s')
  const requireNative = config.runtime?.value.require_native === true
  const filters = resolveFilters(config, ctx)
  const unmappedClusters = resolveClusters(config, ctx)
  const unloweredTables = resolveRouteTables(config, new Map(filters.map((f) => [f.name, f.type])), ctx)
  const listeners = resolveListeners(config, admin, ctx)
  const unloweredTenants = resolveTenants(config, ctx)
  const unloweredKeys = resolveKeys(config, ctx)
  const redis = resolveRedis(config, ctx)
  reportRedisNeeds(config, redis, ctx)
  // The registry merges its provider ids into the clusters' modelMaps and its prices into the table, and lowers aliases in model lists.
  const { models, clusters, routeTables, prices, tenants, keys } = resolveModels(config, { clusters: unmappedClusters, routeTables: unloweredTables, prices: resolvePrices(config, ctx), tenants: unloweredTenants, keys: unloweredKeys }, ctx)
  // Before collectSecrets: the tracing export headers are secrets too.
  const telemetry = resolveTelemetry(config, ctx)
  diags.push(...syntax)
  const effective = effectiveConfig(config, admin)
  const warnings = [...continuationWarnings(routeTables, clusters, ctx.positions), ...contentCaptureWarnings(routeTables, telemetry, ctx.positions)]
  const secrets = collectSecrets({ clusters, filters, routeTables }, ctx.secrets.declared)
  const log = resolveLog(config, ctx)
  const batches = resolveBatches(config, listeners, ctx)
  const body = { admin, drainTimeoutMs, requireNative, listeners, routeTables, clusters, filters, tenants, keys, ...(redis !== undefined && { redis }), prices, effective, secrets, warnings, telemetry, log, ...(batches !== undefined && { batches }), ...(models !== undefined && { models }) }
  return { body, needs: ctx.secrets.needs, positions: ctx.positions, files: ctx.files, pluginsToLoad: ctx.pluginsToLoad }
}
