/** Filter registry: type name (as in filter.schema.json) → factory. */
import type { FilterFactory } from '../types.js'
import { create as apiKey } from './api-key.js'
import { create as cache } from './cache.js'
import { create as cors } from './cors.js'
import { create as fault } from './fault.js'
import { create as headers } from './headers.js'
import { create as jwt } from './jwt.js'
import { create as plugin } from './plugin.js'
import { create as rateLimit } from './rate-limit.js'
import { create as session } from './session.js'
import { create as trustedHeader } from './trusted-header.js'
import { create as wasm } from '../plugins/wasm/filter.js'

export const filterFactories: Readonly<Record<string, FilterFactory>> = {
  api_key: apiKey,
  cache,
  cors,
  fault,
  headers,
  jwt,
  plugin,
  rate_limit: rateLimit,
  session,
  trusted_header: trustedHeader,
  wasm,
}
