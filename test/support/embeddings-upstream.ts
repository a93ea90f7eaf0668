/**
 * A local OpenAI-format embeddings upstream (POST /v1/embeddings) answering fixed vectors per
 * text, so similarity is chosen by the test: `vectors` maps an input text to its vector; any other
 * text gets `fallback`. A text listed in `slow` is answered only after `slowMs` (an embedding call
 * that outlives its timeout). Every request is recorded, with whether the gateway went away first.
 */
import { receive, startHttpServer } from './http-server.js'

export interface EmbeddingsUpstream {
  /** Base URL as a cluster endpoint takes it (`…/v1`). */
  readonly url: string
  readonly requests: { input: unknown; model: unknown; aborted: boolean }[]
  close(): Promise<void>
}

export interface EmbeddingsUpstreamOptions {
  readonly vectors: Readonly<Record<string, readonly number[]>>
  readonly fallback: readonly number[]
  readonly slow?: readonly string[]
  readonly slowMs?: number
}

export async function startEmbeddingsUpstream(opts: EmbeddingsUpstreamOptions): Promise<EmbeddingsUpstream> {
  const requests: EmbeddingsUpstream['requests'] = []
  const server = await startHttpServer((req, res) =>
    receive(req, (r) => {
      const body = JSON.parse(r.body.toString() || '{}')
      const rec = { input: body.input, model: body.model, aborted: false }
      requests.push(rec)
      res.on('close', () => (rec.aborted = !res.writableFinished))
      if (r.url !== '/v1/embeddings' || r.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ error: { message: `no ${r.method} ${r.url}`, type: 'invalid_request_error' } }))
      }
      const texts: string[] = typeof body.input === 'string' ? [body.input] : body.input
      const answer = () => {
        if (res.destroyed) return
        const data = texts.map((t, index) => ({ object: 'embedding', index, embedding: opts.vectors[t] ?? opts.fallback }))
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 3, total_tokens: 3 } }))
      }
      if (texts.some((t) => opts.slow?.includes(t))) setTimeout(answer, opts.slowMs ?? 2000)
      else answer()
    }),
  )
  return { url: `${server.origin}/v1`, requests, close: () => server.close() }
}
