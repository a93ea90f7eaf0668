/**
 * A batch line skips the listener's auth filters (it runs as the identity that created its
 * batch), so what those filters decide per request is decided here against the current snapshot:
 * the tenant must still exist, an API key must still be valid (not removed, disabled or expired),
 * and the line's model must be allowed for the tenant and the key — the same answers, in
 * OpenAI's shape, that an interactive request would get.
 */
import type { Identity, LocalReply, Snapshot } from '../types.js'
import { allowsModel } from '../identity/model-access.js'
import { identityReply, IdentityMessages } from '../identity/auth-replies.js'

export function refuseLine(snap: Snapshot, identity: Identity, model: string | undefined, nowMs: number): LocalReply | undefined {
  const tenant = snap.identity.tenants.get(identity.tenant)
  if (tenant === undefined) return identityReply('openai', 'SY_UNAUTHENTICATED', `The tenant '${identity.tenant}' that created this batch no longer exists.`)
  let keyModels
  if (identity.via === 'api_key' && identity.keyId !== undefined) {
    const key = snap.identity.keys.get(identity.keyId)
    if (key === undefined || key.disabled || (key.expiresAtMs !== undefined && key.expiresAtMs <= nowMs) || key.tenant !== identity.tenant) {
      return identityReply('openai', 'SY_UNAUTHENTICATED', 'The API key that created this batch is no longer valid (removed, disabled or expired).')
    }
    keyModels = key.models
  }
  if (model !== undefined && (tenant.models !== undefined || keyModels !== undefined) && !allowsModel(model, tenant.models, keyModels)) {
    return identityReply('openai', 'SY_MODEL_FORBIDDEN', IdentityMessages.model(model))
  }
  return undefined
}
