/**
 * Where and how a request goes upstream, per provider: path, auth headers, and whether the body
 * must be translated. Built once per cluster; `resolve` runs per request.
 */
import type { ClusterIR, UpstreamProtocol } from '../../compiler/ir.js'
import type { CompiledEndpoint } from '../types.js'
import type { Operation } from '../providers/caller.js'
import { encodePathSegment, withoutOwnedParams } from '../providers/path-segment.js'
import { bedrockPath, geminiPath } from '../providers/translate/index.js'

export interface UpstreamTarget {
  readonly path: string
  /** Flat [name, value, …] headers besides credentials already in endpoint.baseHeaders. */
  readonly headers: string[]
}

/** Why a request has no upstream target: a bad request (400) or an operation this provider lacks (404). */
export interface TargetRefusal {
  readonly refused: 'SY_BAD_REQUEST' | 'SY_UNSUPPORTED'
  readonly message: string
}

export interface TargetResolver {
  readonly protocol: UpstreamProtocol
  /** `rest` is the request path after `/v1` (e.g. `/chat/completions`), `query` without `?`. */
  resolve(endpoint: CompiledEndpoint, op: Operation, rest: string, query: string, model: string, stream: boolean): UpstreamTarget | TargetRefusal
}

const unsupported = (message: string): TargetRefusal => ({ refused: 'SY_UNSUPPORTED', message })

/** The model as a path segment, or the 400 that explains why it cannot be one. */
function modelSegment(model: string, what: string): string | TargetRefusal {
  const r = encodePathSegment(model)
  if ('refused' in r) return { refused: 'SY_BAD_REQUEST', message: model === '' ? `${what} needs a model` : `model ${r.refused}` }
  return r.segment
}

/** Parameters Azure's adapter sets itself: a client's own would be a second, conflicting one. */
const AZURE_OWNED = ['api-version']

/**
 * Credential headers per provider, prebuilt per endpoint (flat array). `basicAuth` comes from the
 * endpoint URL's userinfo; the compiler never lets it and an api key meet.
 */
export function credentialHeaders(c: ClusterIR, apiKey: string | undefined, basicAuth?: string): string[] {
  const h: string[] = []
  if (c.protocol === 'anthropic') h.push('anthropic-version', c.anthropic.version)
  if (basicAuth !== undefined) h.push('authorization', basicAuth)
  if (apiKey === undefined) return h
  switch (c.provider) {
    case 'azure_openai': h.push('api-key', apiKey); break
    case 'anthropic': h.push('x-api-key', apiKey); break
    case 'gemini': h.push('x-goog-api-key', apiKey); break
    case 'bedrock': h.push('authorization', `Bearer ${apiKey}`); break // Bedrock API keys
    default: h.push('authorization', `Bearer ${apiKey}`)
  }
  return h
}

const NO_HEADERS: string[] = []

export function createTargetResolver(c: ClusterIR & { protocol: UpstreamProtocol }): TargetResolver {
  const q = (query: string) => (query === '' ? '' : '?' + query)
  switch (c.protocol) {
    case 'openai':
      if (c.provider === 'azure_openai') {
        const version = encodeURIComponent(c.azure.apiVersion)
        return {
          protocol: 'openai',
          resolve: (e, op, rest, query, model) => {
            const deployment = modelSegment(Object.hasOwn(c.azure.deployments, model) ? c.azure.deployments[model] : model, 'azure_openai')
            if (typeof deployment !== 'string') return deployment
            const suffix = op === 'messages' ? '/chat/completions' : rest
            const own = withoutOwnedParams(query, AZURE_OWNED)
            return { path: `${e.basePath}/openai/deployments/${deployment}${suffix}?api-version=${version}${own ? '&' + own : ''}`, headers: NO_HEADERS }
          },
        }
      }
      return {
        protocol: 'openai',
        resolve: (e, op, rest, query) => ({ path: e.basePath + (op === 'messages' ? '/chat/completions' : rest) + q(query), headers: NO_HEADERS }),
      }
    case 'anthropic':
      return {
        protocol: 'anthropic',
        resolve: (e, op, rest, query) => {
          if (op === 'embeddings') return unsupported(`provider '${c.provider}' has no embeddings API`)
          return { path: e.basePath + (op === 'chat' || op === 'responses' ? '/messages' : rest) + q(query), headers: NO_HEADERS }
        },
      }
    case 'gemini':
      return {
        protocol: 'gemini',
        resolve: (e, op, _rest, _query, model, stream) => {
          if (op !== 'chat' && op !== 'messages' && op !== 'responses') return unsupported(`provider 'gemini' serves chat completions, messages and responses only through the gateway`)
          const checked = modelSegment(model.startsWith('models/') ? model.slice(7) : model, 'gemini')
          if (typeof checked !== 'string') return checked
          return { path: e.basePath + geminiPath(model, stream), headers: NO_HEADERS }
        },
      }
    case 'bedrock':
      return {
        protocol: 'bedrock',
        resolve: (e, op, _rest, _query, model, stream) => {
          if (op !== 'chat' && op !== 'messages' && op !== 'responses') return unsupported(`provider 'bedrock' serves chat completions, messages and responses only through the gateway`)
          const checked = modelSegment(model, 'bedrock')
          if (typeof checked !== 'string') return checked
          return { path: e.basePath + bedrockPath(model, stream), headers: NO_HEADERS }
        },
      }
  }
}
