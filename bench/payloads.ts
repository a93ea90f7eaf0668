// The bytes every row sends and every mock answers. Built once, shared by the mocks, the load generators and the
// sanity checks, so a row cannot pass by answering something cheaper than the others.
import { generateApiKey } from '../src/shared/api-key-format.js'

/** Model names select the lane inside Switchyard's route table; plain proxies get one port per lane instead. */
export const MODEL = { json: 'gpt-4o-mini', sse: 'bench-sse', ttft: 'bench-ttft' } as const

const messages = [{ role: 'user', content: 'Say hello to the benchmark in one short sentence.' }]

export const REQUEST = {
  json: JSON.stringify({ model: MODEL.json, messages }),
  sse: JSON.stringify({ model: MODEL.sse, messages, stream: true }),
  ttft: JSON.stringify({ model: MODEL.ttft, messages, stream: true }),
} as const

export const CHAT_PATH = '/v1/chat/completions'

/**
 * Every load generator sends this API key to every row, so all rows see the same bytes; row (f)
 * checks it (api_key filter), the others ignore it (Switchyard drops a client credential when the
 * endpoint has its own). Random per run: the config with its hash is written per run too.
 */
export const BENCH_API_KEY = generateApiKey('bench').key
export const AUTH_HEADER = ['authorization', `Bearer ${BENCH_API_KEY}`] as const
export const SSE_CHUNKS = 20

const created = 1_700_000_000

/** A realistic non-streaming reply (~600 bytes), the shape OpenAI returns. */
export const COMPLETION_JSON = JSON.stringify({
  id: 'chatcmpl-bench0001',
  object: 'chat.completion',
  created,
  model: MODEL.json,
  choices: [{
    index: 0,
    message: { role: 'assistant', content: 'Hello, benchmark! This reply is fixed so every row moves the same bytes.' },
    logprobs: null,
    finish_reason: 'stop',
  }],
  usage: { prompt_tokens: 17, completion_tokens: 16, total_tokens: 33 },
  system_fingerprint: 'fp_bench',
})

/** One `data:` event of a streamed reply; the last one carries finish_reason and usage, as OpenAI's do. */
export function sseEvent(i: number, model: string): string {
  const last = i === SSE_CHUNKS - 1
  const delta = i === 0 ? { role: 'assistant', content: '' } : last ? {} : { content: ` tok${i}` }
  const chunk = {
    id: 'chatcmpl-bench0002',
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: last ? 'stop' : null }],
    ...(last ? { usage: { prompt_tokens: 17, completion_tokens: SSE_CHUNKS - 2, total_tokens: 35 } } : {}),
  }
  return `data: ${JSON.stringify(chunk)}\n\n`
}

export const SSE_DONE = 'data: [DONE]\n\n'

/** The whole 20-event stream as one body; nginx serves it in a single write. */
export const SSE_BODY = Array.from({ length: SSE_CHUNKS }, (_, i) => sseEvent(i, MODEL.sse)).join('') + SSE_DONE
