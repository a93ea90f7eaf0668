/** Filter registry: type name (as in filter.schema.json) → factory. */
import type { FilterFactory } from '../types.js'
import { create as cors } from './cors.js'
import { create as fault } from './fault.js'
import { create as headers } from './headers.js'

export const filterFactories: Readonly<Record<string, FilterFactory>> = {
  cors,
  fault,
  headers,
}
