/**
 * What each `provider:` means on the wire: which protocol it speaks, its default base URL, and the
 * path prefix assumed when an endpoint URL has none.
 */
import type { ProviderPreset, UpstreamProtocol } from '../protocols.js'

export interface PresetDefaults {
  readonly protocol: UpstreamProtocol | 'mock'
  readonly defaultUrl?: string | ((region: string) => string)
  /** Path used when the endpoint URL has no path of its own. */
  readonly defaultBasePath: string
}

export const PROVIDER_PRESETS: Readonly<Record<ProviderPreset, PresetDefaults>> = {
  openai: { protocol: 'openai', defaultBasePath: '/v1' },
  azure_openai: { protocol: 'openai', defaultBasePath: '' },
  vllm: { protocol: 'openai', defaultUrl: 'http://127.0.0.1:8000/v1', defaultBasePath: '/v1' },
  ollama: { protocol: 'openai', defaultUrl: 'http://127.0.0.1:11434/v1', defaultBasePath: '/v1' },
  deepseek: { protocol: 'openai', defaultUrl: 'https://api.deepseek.com/v1', defaultBasePath: '/v1' },
  qwen: { protocol: 'openai', defaultUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1', defaultBasePath: '/v1' },
  moonshot: { protocol: 'openai', defaultUrl: 'https://api.moonshot.cn/v1', defaultBasePath: '/v1' },
  mistral: { protocol: 'openai', defaultUrl: 'https://api.mistral.ai/v1', defaultBasePath: '/v1' },
  groq: { protocol: 'openai', defaultUrl: 'https://api.groq.com/openai/v1', defaultBasePath: '/v1' },
  openrouter: { protocol: 'openai', defaultUrl: 'https://openrouter.ai/api/v1', defaultBasePath: '/v1' },
  anthropic: { protocol: 'anthropic', defaultUrl: 'https://api.anthropic.com/v1', defaultBasePath: '/v1' },
  // geminiPath() carries the /v1beta prefix itself.
  gemini: { protocol: 'gemini', defaultUrl: 'https://generativelanguage.googleapis.com', defaultBasePath: '' },
  bedrock: { protocol: 'bedrock', defaultUrl: (region) => `https://bedrock-runtime.${region}.amazonaws.com`, defaultBasePath: '' },
  mock: { protocol: 'mock', defaultBasePath: '' },
  // Requests reach its gRPC dispatcher as OpenAI chat completions (runtime/providers/kserve/).
  kserve_grpc: { protocol: 'openai', defaultBasePath: '/v1' },
}
