/**
 * The one vocabulary for "which protocol": every module that names a caller's API, a listener's
 * protocol or an upstream's wire format takes the type from here, so one word means one thing
 * in the compiler, the runtime and the control plane alike.
 */

/** What a listener speaks to its callers: its error JSON, its front-door paths. */
export type Protocol = 'openai' | 'anthropic'

/**
 * The API one request is written in: the listener's protocol, or the OpenAI Responses API
 * (served on an OpenAI listener at /v1/responses). Translation and usage reading go by this.
 */
export type CallerProtocol = Protocol | 'responses'

/** The wire format an upstream speaks; every provider preset maps to one of these. */
export type UpstreamProtocol = 'openai' | 'anthropic' | 'gemini' | 'bedrock'

/** A cluster's `provider:` as written in YAML: a preset that fixes its wire protocol and defaults. */
export type ProviderPreset =
  | 'openai' | 'azure_openai' | 'anthropic' | 'gemini' | 'bedrock'
  | 'vllm' | 'ollama' | 'deepseek' | 'qwen' | 'moonshot' | 'mistral' | 'groq' | 'openrouter'
  | 'mock'
  | 'kserve_grpc'
