/**
 * `kserve` of a `kserve_grpc` cluster: the chat template expanded from its preset, durations in
 * milliseconds and tensor names by role. The schema already refused role templates without
 * `{content}` (at their line:col), so nothing here can fail.
 */
import type { ChatTemplateIR, KserveIR } from '../ir.js'
import { durationMs } from '../../shared/units.js'
import type { Obj } from './merge.js'

/** The named templates, as a model's tokenizer config would render them with add_generation_prompt. */
export const CHAT_TEMPLATES: Readonly<Record<'chatml' | 'llama3' | 'plain', ChatTemplateIR>> = {
  chatml: {
    begin: '',
    system: '<|im_start|>system\n{content}<|im_end|>\n',
    user: '<|im_start|>user\n{content}<|im_end|>\n',
    assistant: '<|im_start|>assistant\n{content}<|im_end|>\n',
    generationPrompt: '<|im_start|>assistant\n',
  },
  llama3: {
    begin: '<|begin_of_text|>',
    system: '<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>',
    user: '<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>',
    assistant: '<|start_header_id|>assistant<|end_header_id|>\n\n{content}<|eot_id|>',
    generationPrompt: '<|start_header_id|>assistant<|end_header_id|>\n\n',
  },
  plain: {
    begin: '',
    system: 'System: {content}\n',
    user: 'User: {content}\n',
    assistant: 'Assistant: {content}\n',
    generationPrompt: 'Assistant:',
  },
}

export function resolveKserve(k: Obj): KserveIR {
  const t = k.tensors as Obj
  const tpl = k.chat_template
  return {
    chatTemplate: typeof tpl === 'string'
      ? CHAT_TEMPLATES[tpl as keyof typeof CHAT_TEMPLATES]
      : { begin: tpl.begin ?? '', system: tpl.system, user: tpl.user, assistant: tpl.assistant, generationPrompt: tpl.generation_prompt ?? '' },
    sampling: k.sampling,
    decoupled: k.decoupled,
    streamOutput: k.stream_output,
    batchDimension: k.batch_dimension,
    modelVersion: k.model_version,
    ...(k.ready_model !== undefined && { readyModel: k.ready_model }),
    channels: k.channels,
    keepaliveTimeMs: durationMs(k.keepalive.time),
    keepaliveTimeoutMs: durationMs(k.keepalive.timeout),
    tensors: {
      textInput: t.text_input, textOutput: t.text_output, stream: t.stream,
      samplingParameters: t.sampling_parameters, excludeInputInOutput: t.exclude_input_in_output,
      maxTokens: t.max_tokens, temperature: t.temperature, topP: t.top_p, seed: t.seed, stop: t.stop,
      presencePenalty: t.presence_penalty, frequencyPenalty: t.frequency_penalty,
      inputTokens: t.input_tokens, outputTokens: t.output_tokens,
    },
  }
}
