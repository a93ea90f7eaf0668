/**
 * ModelInferResponse tensors → text and token counts, and those → the OpenAI chat completion
 * answer (JSON, or the SSE chunks of a stream) that the rest of the gateway passes through or
 * translates for Anthropic callers.
 */
import type { KserveIR } from '../../../compiler/ir.js'

export interface InferOutputs {
  readonly text: string
  readonly inputTokens: number | undefined
  readonly outputTokens: number | undefined
  /** Triton's decoupled-model marker: no response follows this one. */
  readonly final: boolean
}

interface OutputTensor {
  name: string
  datatype: string
  contents?: Record<string, unknown[] | undefined>
}

/** Reads one response; `undefined` text when it has no text output (a final empty response). */
export function readOutputs(res: any, tensors: KserveIR['tensors']): InferOutputs {
  const outputs: OutputTensor[] = Array.isArray(res?.outputs) ? res.outputs : []
  const raw: Buffer[] = Array.isArray(res?.raw_output_contents) ? res.raw_output_contents : []
  let text = ''
  let inputTokens: number | undefined
  let outputTokens: number | undefined
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i]
    if (o.name === tensors.textOutput) text = bytesElements(o, raw[i]).map((b) => b.toString('utf8')).join('')
    else if (o.name === tensors.inputTokens && tensors.inputTokens !== '') inputTokens = firstNumber(o, raw[i])
    else if (o.name === tensors.outputTokens && tensors.outputTokens !== '') outputTokens = firstNumber(o, raw[i])
  }
  const final = res?.parameters?.triton_final_response?.bool_param === true
  return { text, inputTokens, outputTokens, final }
}

function bytesElements(o: OutputTensor, raw: Buffer | undefined): Buffer[] {
  const typed = o.contents?.bytes_contents
  if (Array.isArray(typed) && typed.length > 0) return typed as Buffer[]
  if (raw === undefined) return []
  // Raw BYTES: each element is a 4-byte little-endian length, then that many bytes.
  const out: Buffer[] = []
  let at = 0
  while (at + 4 <= raw.length) {
    const len = raw.readUInt32LE(at)
    at += 4
    out.push(raw.subarray(at, at + len))
    at += len
  }
  return out
}

function firstNumber(o: OutputTensor, raw: Buffer | undefined): number | undefined {
  const c = o.contents
  for (const key of ['int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents']) {
    const v = c?.[key]
    if (Array.isArray(v) && v.length > 0) return Number(v[0])
  }
  if (raw === undefined || raw.length < 4) return undefined
  switch (o.datatype) {
    case 'INT32': return raw.readInt32LE(0)
    case 'UINT32': return raw.readUInt32LE(0)
    case 'INT64': return raw.length >= 8 ? Number(raw.readBigInt64LE(0)) : undefined
    case 'UINT64': return raw.length >= 8 ? Number(raw.readBigUInt64LE(0)) : undefined
    default: return undefined
  }
}

/** Token counts across a stream's responses: the prompt's is reported once, generated ones per `stream_output`. */
export class UsageCount {
  input: number | undefined
  output: number | undefined
  constructor(private readonly cumulative: boolean) {}

  add(o: InferOutputs): void {
    if (o.inputTokens !== undefined) this.input = o.inputTokens
    if (o.outputTokens !== undefined) this.output = this.cumulative || this.output === undefined ? o.outputTokens : this.output + o.outputTokens
  }

  openai(): { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined {
    if (this.input === undefined && this.output === undefined) return undefined
    const prompt = this.input ?? 0
    const completion = this.output ?? 0
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
  }
}

export function finishReason(usage: UsageCount, maxTokens: number | undefined): 'stop' | 'length' {
  return maxTokens !== undefined && usage.output !== undefined && usage.output >= maxTokens ? 'length' : 'stop'
}

export function chatCompletion(id: string, model: string, text: string, usage: UsageCount, maxTokens: number | undefined): Buffer {
  const u = usage.openai()
  return Buffer.from(JSON.stringify({
    id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason(usage, maxTokens) }],
    ...(u && { usage: u }),
  }))
}

/** The SSE events of one streamed answer, in OpenAI's chat.completion.chunk shape. */
export class ChunkWriter {
  private readonly created = Math.floor(Date.now() / 1000)
  constructor(private readonly id: string, private readonly model: string) {}

  private event(choices: object[], usage?: object): Buffer {
    return Buffer.from(`data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices, ...(usage && { usage }) })}\n\n`)
  }

  first(text: string): Buffer {
    return this.event([{ index: 0, delta: { role: 'assistant', content: text }, logprobs: null, finish_reason: null }])
  }

  text(text: string): Buffer {
    return this.event([{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }])
  }

  /** The finish chunk, the usage chunk when asked for, and the terminator. */
  last(finish: 'stop' | 'length', usage: object | undefined, includeUsage: boolean): Buffer {
    const parts = [this.event([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }])]
    if (includeUsage && usage) parts.push(this.event([], usage))
    parts.push(DONE)
    return Buffer.concat(parts)
  }
}

const DONE = Buffer.from('data: [DONE]\n\n')
