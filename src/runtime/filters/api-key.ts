/**
 * `api_key` filter: the caller's API key (Authorization: Bearer, x-api-key or api-key) checked
 * against the config's `keys` by hash, in constant time; the request gets the key's tenant before
 * routing. Config: schemas/filters/api_key.schema.json.
 *
 * @example
 * filters:
 *   - name: keys
 *     type: api_key
 *     config: { failures: { max_failures: 10 } }
 * listeners:
 *   - { name: public, port: 8080, route_table: main, filters: [keys] }
 */
import type { Filter, FilterDeps, RequestContext } from '../types.js'
import { compileCredentialReader, credentialOrder, type CredentialHeader } from '../identity/credentials.js'
import { admit, failureLimits, FailureGate, MISSING, requireIdentity, type FailuresConfig } from '../identity/admission.js'

export interface ApiKeyConfig {
  readonly headers?: readonly CredentialHeader[]
  readonly failures?: FailuresConfig
}

export function create(config: ApiKeyConfig, deps: FilterDeps): Filter {
  const { keys, tenants } = requireIdentity(deps, 'api_key')
  const readers = {
    openai: compileCredentialReader(config.headers ?? credentialOrder('openai')),
    anthropic: compileCredentialReader(config.headers ?? credentialOrder('anthropic')),
  }
  const limits = failureLimits(config.failures)
  const gate = new FailureGate('api_key', deps.stores.authFailures(`api_key|${JSON.stringify(config.headers ?? null)}`, limits))
  return {
    name: 'api_key',
    phase: 'pre_route',
    onRequest(ctx: RequestContext) {
      const now = Date.now()
      const blocked = gate.check(ctx, now)
      if (blocked !== undefined) return blocked
      const credential = readers[ctx.protocol].read(ctx.headers)
      if (credential === undefined) return MISSING[ctx.protocol]
      const v = keys.verify(credential.value, now)
      if (!v.ok) return gate.refuse(ctx, now, v.reason, v.keyId)
      // The compiler checked that every key's tenant exists.
      return admit(ctx, tenants.get(v.key.tenant)!, 'api_key', v.key.id, v.key.models, undefined)
    },
  }
}
