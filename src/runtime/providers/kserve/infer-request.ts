/**
 * An OpenAI chat completion request → a ModelInferRequest of the cluster's tensors: the prompt
 * (chat template), the stream flag and the sampling settings (one JSON tensor or one tensor each).
 * Built once per cluster; `build` runs per request and refuses what a text model cannot do.
 */
import type { KserveIR } from '../../../compiler/ir.js'
import { compileChatTemplate } from './chat-prompt.js'

export interface InferInput {
  readonly name: string
  readonly datatype: 'BYTES' | 'BOOL' | 'INT32' | 'FP32' | 'UINT64'
  readonly shape: number[]
  readonly contents: Record<string, unknown[]>
}

export interface ModelInferRequest {
  readonly model_name: string
  readonly model_version: string
  readonly id: string
  readonly inputs: InferInput[]
}

/** What the answer needs to know about the request. */
export interface InferPlan {
  readonly request: ModelInferRequest
  readonly model: string
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly maxTokens: number | undefined
}

export interface InferRequestBuilder {
  build(body: any, requestId: string): InferPlan | { refused: string }
}

export function createInferRequestBuilder(k: KserveIR): InferRequestBuilder {
  const template = compileChatTemplate(k.chatTemplate)
  const t = k.tensors
  const one = k.batchDimension ? [1, 1] : [1]
  const bytes = (name: string, value: string): InferInput => ({ name, datatype: 'BYTES', shape: one, contents: { bytes_contents: [Buffer.from(value)] } })
  const bool = (name: string, value: boolean): InferInput => ({ name, datatype: 'BOOL', shape: one, contents: { bool_contents: [value] } })
  const num = (name: string, datatype: 'INT32' | 'FP32' | 'UINT64', value: number): InferInput => ({
    name, datatype, shape: one,
    contents: datatype === 'INT32' ? { int_contents: [value] } : datatype === 'FP32' ? { fp32_contents: [value] } : { uint64_contents: [value] },
  })

  return {
    build(body, requestId) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return { refused: 'the request body must be a JSON object' }
      const model = body.model
      if (typeof model !== 'string' || model === '') return { refused: "'model' is required (the model name the inference server knows)" }
      if (body.n !== undefined && body.n !== null && body.n !== 1) return { refused: "'n' other than 1 is not supported by provider 'kserve_grpc'" }
      if (Array.isArray(body.tools) && body.tools.length > 0) return { refused: "'tools' are not supported by provider 'kserve_grpc'" }
      const format = body.response_format?.type
      if (format !== undefined && format !== 'text') return { refused: `response_format '${String(format)}' is not supported by provider 'kserve_grpc'` }
      const rendered = template.render(body.messages)
      if ('refused' in rendered) return rendered
      const sampling = samplingOf(body)
      if ('refused' in sampling) return sampling
      const stream = body.stream === true
      const inputs: InferInput[] = [bytes(t.textInput, rendered.prompt)]
      if (t.stream !== '') inputs.push(bool(t.stream, stream))
      if (t.excludeInputInOutput !== '') inputs.push(bool(t.excludeInputInOutput, true))
      const s = sampling.settings
      if (k.sampling === 'json') {
        if (t.samplingParameters !== '' && Object.keys(s).length > 0) inputs.push(bytes(t.samplingParameters, JSON.stringify(s)))
      } else {
        if (s.max_tokens !== undefined && t.maxTokens !== '') inputs.push(num(t.maxTokens, 'INT32', s.max_tokens))
        if (s.temperature !== undefined && t.temperature !== '') inputs.push(num(t.temperature, 'FP32', s.temperature))
        if (s.top_p !== undefined && t.topP !== '') inputs.push(num(t.topP, 'FP32', s.top_p))
        if (s.seed !== undefined && t.seed !== '') inputs.push(num(t.seed, 'UINT64', s.seed))
        if (s.presence_penalty !== undefined && t.presencePenalty !== '') inputs.push(num(t.presencePenalty, 'FP32', s.presence_penalty))
        if (s.frequency_penalty !== undefined && t.frequencyPenalty !== '') inputs.push(num(t.frequencyPenalty, 'FP32', s.frequency_penalty))
        if (s.stop !== undefined && t.stop !== '') {
          inputs.push({ name: t.stop, datatype: 'BYTES', shape: k.batchDimension ? [1, s.stop.length] : [s.stop.length], contents: { bytes_contents: s.stop.map((w) => Buffer.from(w)) } })
        }
      }
      return {
        request: { model_name: model, model_version: k.modelVersion, id: requestId, inputs },
        model,
        stream,
        includeUsage: body.stream_options?.include_usage === true,
        maxTokens: s.max_tokens,
      }
    },
  }
}

interface Sampling {
  max_tokens?: number; temperature?: number; top_p?: number; seed?: number
  presence_penalty?: number; frequency_penalty?: number; stop?: string[]
}

function samplingOf(body: any): { settings: Sampling } | { refused: string } {
  const s: Sampling = {}
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens !== undefined && maxTokens !== null) {
    if (!Number.isInteger(maxTokens) || maxTokens < 1) return { refused: "'max_tokens' must be a positive integer" }
    s.max_tokens = maxTokens
  }
  for (const key of ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty'] as const) {
    const v = body[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'number' || !Number.isFinite(v)) return { refused: `'${key}' must be a number` }
    s[key] = v
  }
  if (body.seed !== undefined && body.seed !== null) {
    if (!Number.isSafeInteger(body.seed) || body.seed < 0) return { refused: "'seed' must be a non-negative integer" }
    s.seed = body.seed
  }
  const stop = body.stop
  if (stop !== undefined && stop !== null) {
    const list = typeof stop === 'string' ? [stop] : stop
    if (!Array.isArray(list) || list.some((w) => typeof w !== 'string')) return { refused: "'stop' must be a string or an array of strings" }
    if (list.length > 0) s.stop = list
  }
  return { settings: s }
}
