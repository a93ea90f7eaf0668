/**
 * The models a listener routes, as `GET /v1/models` (OpenAI's list shape) and `GET
 * /v1/models/<id>` answer them, built once per snapshot.
 *
 * Without a registry: for each rule that reaches clusters (config order, first listing wins, as
 * first match wins): an exact `model` match names the one model; otherwise the names its
 * clusters serve (`models`, `model_map` keys, a bare mock's default) that the rule's `model`
 * glob/regex, if any, accepts. owned_by = the cluster(s) serving it.
 *
 * With a registry, the same, plus every registered model some such rule accepts (its `model`
 * match, or none); a registered model's object carries its metadata (modelMetadata) and its
 * `owned_by`, and its aliases are not listed apart but answer `/v1/models/<alias>`.
 *
 * An identified caller (an auth filter found its tenant) is answered from its own listing
 * (forCaller): only the rules whose tenant, label and claim conditions accept it, and only the
 * models its tenant's and key's `models` allow; another model's `/v1/models/<id>` is a 404, as
 * for a model not served at all. Built on the first such request of each kind of caller (which
 * rules reach it, its tenant, its key), then kept for the snapshot's life.
 */
import type { MatchIR, ModelIR, RouteTableIR, RuleIR, SnapshotIR } from '../../compiler/ir.js'
import type { LocalReply, RequestHead } from '../types.js'
import type { IdentityTables } from '../identity/tables.js'
import { servedModels } from '../providers/mock.js'
import { compileMatch, compileStringMatch } from '../routing/match.js'
import { allowsModel } from '../identity/model-access.js'
import { errorReply } from '../errors.js'
import type { Protocol } from '../../protocols.js'

const JSON_HEADERS = [['content-type', 'application/json']] as const

/** The answers of `GET /v1/models` and `GET /v1/models/<id>` for one kind of caller. */
export interface ModelReplies {
  /** `GET /v1/models`. */
  readonly modelsReply: LocalReply
  /** `GET /v1/models/<id>` by id and alias. */
  readonly modelReplies: ReadonlyMap<string, LocalReply>
}

export interface ModelListing extends ModelReplies {
  /** The answers for an identified caller (`head.identity` set): what its tenant and key may use. */
  readonly modelsFor: (head: RequestHead, identity: IdentityTables) => ModelReplies
  /**
   * With a registry, the gateway answers those paths before routing, unless a rule names them
   * (`path: { exact: /v1/models }`, or a prefix starting `/v1/models`): a catch-all rule no longer
   * sends them upstream.
   */
  readonly modelsFirst?: true
}

/**
 * What `GET /v1/models` adds to a registered model's object (and `switchyard models`, the admin
 * API's `/models` show): only the fields the registry sets, snake_case as the YAML.
 */
export function modelMetadata(m: ModelIR): Record<string, unknown> {
  const c = m.capabilities
  return {
    ...(m.aliases.length > 0 && { aliases: m.aliases }),
    ...(m.contextWindow !== undefined && { context_window: m.contextWindow }),
    ...(m.maxOutputTokens !== undefined && { max_output_tokens: m.maxOutputTokens }),
    capabilities: { tools: c.tools, vision: c.vision, json_mode: c.jsonMode, reasoning: c.reasoning, streaming: c.streaming },
    ...(m.prices !== undefined && { pricing: { input: m.prices.input, output: m.prices.output, cached_input: m.prices.cachedInput ?? m.prices.input, per: '1M tokens' } }),
    ...(m.deprecatedAt !== undefined && { deprecated_at: m.deprecatedAt }),
    ...(m.replacement !== undefined && { replacement: m.replacement }),
  }
}

/**
 * The names a listener's table routes, each with its owners (`a|b`), in listing order; with
 * `reaches`, through the rules it accepts only.
 */
export function listedModels(table: RouteTableIR, ir: SnapshotIR, reaches?: (rule: RuleIR, index: number) => boolean): Map<string, string> {
  const seen = new Map<string, string>()
  const clusterIR = new Map(ir.clusters.map((c) => [c.name, c]))
  const routing: { accepts: (name: string) => boolean; clusters: string[] }[] = []
  for (const [index, rule] of table.rules.entries()) {
    if (reaches !== undefined && !reaches(rule, index)) continue
    const a = rule.action
    const clusters = a.kind === 'cluster' ? [a.cluster] : a.kind === 'weighted' ? a.clusters.filter((c) => c.weight > 0).map((c) => c.name) : a.kind === 'fallback' ? [a.clusters[0].cluster] : []
    if (clusters.length === 0) continue
    const m = rule.match.model
    const accepts = m === undefined ? () => true : compileStringMatch(m)
    routing.push({ accepts, clusters })
    if (m?.kind === 'exact') {
      if (!seen.has(m.value)) seen.set(m.value, clusters.join('|'))
      continue
    }
    const owners = new Map<string, string[]>()
    for (const c of clusters) for (const name of servedModels(clusterIR.get(c)!)) if (accepts(name)) owners.set(name, [...(owners.get(name) ?? []), c])
    for (const [name, by] of owners) if (!seen.has(name)) seen.set(name, by.join('|'))
  }
  for (const model of ir.models ?? []) {
    if (seen.has(model.name)) continue
    const rule = routing.find((r) => r.accepts(model.name))
    if (rule) seen.set(model.name, rule.clusters.join('|'))
  }
  return seen
}

export function buildModelListing(table: RouteTableIR, ir: SnapshotIR): ModelListing {
  const registered = new Map<string, ModelIR>()
  for (const m of ir.models ?? []) {
    registered.set(m.name, m)
    for (const a of m.aliases) registered.set(a, m)
  }
  const claimed = table.rules.some((r) => r.match.path !== undefined && (r.match.path.kind === 'exact' || r.match.path.kind === 'prefix') && r.match.path.value.startsWith('/v1/models'))
  return {
    ...repliesOf(listedModels(table, ir), registered),
    modelsFor: callerListings(table, ir, registered),
    ...(ir.models !== undefined && !claimed && { modelsFirst: true as const }),
  }
}

/** Callers' listings are kept per kind of caller up to this many; past it, each is built per request. */
const MAX_CALLER_LISTINGS = 1024

/** modelsFor: an identified caller's listing, by the rules that reach it and its tenant's and key's `models`. */
function callerListings(table: RouteTableIR, ir: SnapshotIR, registered: ReadonlyMap<string, ModelIR>): ModelListing['modelsFor'] {
  // Each rule's identity conditions alone (tenant, labels, claims); undefined: it has none.
  const gates = table.rules.map((r) => identityGate(r.match))
  const built = new Map<string, ModelReplies>()
  return (head, identity) => {
    const id = head.identity!
    let reached = ''
    for (const g of gates) reached += g === undefined || g(head) ? '1' : '0'
    const key = `${reached}|${id.tenant}|${id.keyId ?? ''}`
    let replies = built.get(key)
    if (replies === undefined) {
      const tenantModels = identity.tenants.get(id.tenant)?.models
      const keyModels = id.keyId !== undefined ? identity.keys.get(id.keyId)?.models : undefined
      const listed = listedModels(table, ir, (_, i) => reached[i] === '1')
      for (const name of listed.keys()) if (!allowsModel(registered.get(name)?.name ?? name, tenantModels, keyModels)) listed.delete(name)
      replies = repliesOf(listed, registered)
      if (built.size < MAX_CALLER_LISTINGS) built.set(key, replies)
    }
    return replies
  }
}

function identityGate(m: MatchIR): ((h: RequestHead) => boolean) | undefined {
  if (m.tenant === undefined && m.tenantLabels === undefined && m.claims === undefined) return undefined
  return compileMatch({ headers: [], query: [], tenant: m.tenant, tenantLabels: m.tenantLabels, claims: m.claims })
}

function repliesOf(listed: ReadonlyMap<string, string>, registered: ReadonlyMap<string, ModelIR>): ModelReplies {
  const data: Record<string, unknown>[] = []
  const byId = new Map<string, Record<string, unknown>>()
  for (const [id, owners] of listed) {
    const m = registered.get(id)
    // A listed alias (a cluster's `models` may name one) stands for its model's entry.
    const name = m?.name ?? id
    if (byId.has(name)) continue
    const obj = { id: name, object: 'model', created: 0, owned_by: m?.ownedBy ?? owners, ...(m && modelMetadata(m)) }
    data.push(obj)
    byId.set(name, obj)
  }
  const modelReplies = new Map<string, LocalReply>()
  for (const [id, obj] of byId) {
    const reply = { status: 200, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(obj)) }
    modelReplies.set(id, reply)
    for (const a of registered.get(id)?.aliases ?? []) if (!modelReplies.has(a)) modelReplies.set(a, reply)
  }
  return {
    modelsReply: { status: 200, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify({ object: 'list', data })) },
    modelReplies,
  }
}

/** `GET /v1/models/<id>` for a model the listener does not list. */
export function modelNotFound(protocol: Protocol, id: string): LocalReply {
  return errorReply(protocol, 'SY_MODEL_NOT_FOUND', `The model '${id}' does not exist or is not served here`, 'model')
}
