/**
 * Filter types that run in the pre-route phase: they establish the request's identity, which route
 * rules then match on, so they run once per listener before routing and cannot be changed per rule.
 * Shared because the compiler refuses such a filter in a rule's filter_overrides and the runtime
 * builds the listener's pre-route chain from the same list.
 */
export const PRE_ROUTE_FILTER_TYPES: ReadonlySet<string> = new Set(['api_key', 'jwt', 'trusted_header'])
