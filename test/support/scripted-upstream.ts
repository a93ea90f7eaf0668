/**
 * An HTTP upstream whose answer each test scripts (`up.answer = (req, res) => …`), recording every
 * request it receives: for regressions about what a hostile or broken provider can make the
 * gateway do. Default answer: a minimal OpenAI chat completion.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { receive, startHttpServer } from './http-server.js'

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
}

export interface ScriptedUpstream {
  readonly port: number
  readonly url: string
  readonly requests: SeenRequest[]
  answer: (req: SeenRequest, res: ServerResponse) => void
  close(): Promise<void>
}

export function openAICompletion(text = 'ok'): string {
  return JSON.stringify({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  })
}

/** A minimal Anthropic Messages answer. */
export function anthropicMessage(text = 'ok'): string {
  return JSON.stringify({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
    content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  })
}

/** One SSE `data:` event. */
export function sseData(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`
}

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const requests: SeenRequest[] = []
  const up: ScriptedUpstream = {
    port: 0,
    url: '',
    requests,
    answer: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(openAICompletion())
    },
    close: () => server.close(),
  }
  const server = await startHttpServer((req, res) => {
    receive(req, (r) => {
      const seen = { method: r.method, url: r.url, headers: r.headers, body: r.body.toString('utf8') }
      requests.push(seen)
      up.answer(seen, res)
    })
  })
  return Object.assign(up, { port: server.port, url: server.origin })
}
