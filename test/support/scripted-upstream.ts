/**
 * An HTTP upstream whose answer each test scripts (`up.answer = (req, res) => …`), recording every
 * request it receives: for regressions about what a hostile or broken provider can make the
 * gateway do. Default answer: a minimal OpenAI chat completion.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

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
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }),
  }
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('end', () => {
      const seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts).toString('utf8') }
      requests.push(seen)
      up.answer(seen, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  return Object.assign(up, { port, url: `http://127.0.0.1:${port}` })
}
