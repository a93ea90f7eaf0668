/**
 * The rig of the fault scenarios (test/integration/faults/): local OpenAI upstreams that misbehave
 * on command, one 1-worker gateway per test (so breaker and outlier state never leaks between
 * tests), and a chat call that reports status, headers, events, the answering upstream and the time.
 */
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { startOpenAIUpstream, type Upstream } from './openai-upstream.js'
import { startGateway, type GatewayProcess } from './gateway-process.js'
import { freePort } from './ports.js'

export interface Rig {
  gw: GatewayProcess
  port: number
  up: Record<string, Upstream>
  /** /clusters, as JSON. */
  clusters(): Promise<any>
  /** The one worker's view of an endpoint in /clusters. */
  endpoint(cluster: string, url: string): Promise<any>
}

/**
 * Starts the named upstreams, then a 1-worker gateway whose config is `yaml(upstreams)` after the
 * admin and listener lines; stops everything at the end of the test (and insists on exit code 0).
 */
export async function rig(t: TestContext, names: string[], yaml: (u: Record<string, Upstream>) => string, listenerExtra = ''): Promise<Rig> {
  const ups = await Promise.all(names.map((n) => startOpenAIUpstream(n)))
  const up = Object.fromEntries(names.map((n, i) => [n, ups[i]]))
  const port = await freePort()
  let gw: GatewayProcess
  try {
    gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main${listenerExtra} }]
${yaml(up)}`, { workers: 1 })
  } catch (e) {
    for (const u of ups) await u.close()
    throw e
  }
  t.after(async () => {
    const code = await gw.stop()
    for (const u of ups) await u.close()
    assert.equal(code, 0, gw.output())
  })
  const clusters = async () => (await fetch(`${gw.admin}/clusters`)).json() as Promise<any>
  const endpoint = async (cluster: string, url: string) => {
    const all = await clusters()
    const e = all[cluster]?.endpoints.find((x: any) => x.url === url)
    assert.ok(e, `no endpoint ${url} in cluster ${cluster} of /clusters: ${JSON.stringify(all)}`)
    const workers = Object.values(e.workers) as any[]
    assert.equal(workers.length, 1, JSON.stringify(e))
    return { ...workers[0], shared: e }
  }
  return { gw, port, up, clusters, endpoint }
}

export interface Answer {
  status: number
  headers: Headers
  text: string
  /** Parsed body for JSON answers. */
  json: any
  /** For streams: the data payloads in order. */
  events: string[]
  /** The assistant text (message content, or the stream's deltas joined). */
  content: string
  /** Which upstream wrote the answer ("A" for "Hello from A."), or undefined. */
  who: string | undefined
  ms: number
}

export async function chat(port: number, opts: { headers?: Record<string, string>; stream?: boolean; model?: string } = {}): Promise<Answer> {
  const t0 = performance.now()
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify({ model: opts.model ?? 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...(opts.stream && { stream: true }) }),
  })
  const text = await r.text()
  const ms = performance.now() - t0
  let json: any
  let events: string[] = []
  let content = ''
  if ((r.headers.get('content-type') ?? '').includes('text/event-stream')) {
    events = sseData(text)
    for (const d of events) {
      try {
        content += JSON.parse(d).choices?.[0]?.delta?.content ?? ''
      } catch {}
    }
  } else {
    try {
      json = JSON.parse(text)
      content = json?.choices?.[0]?.message?.content ?? ''
    } catch {}
  }
  return { status: r.status, headers: r.headers, text, json, events, content, who: /^Hello from (\w+)\.$/.exec(content)?.[1], ms }
}

/** The `data:` payload of every SSE event, in order. */
export function sseData(text: string): string[] {
  return text.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '').map((e) =>
    e.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
}

/** A short description of an answer, for assertion messages. */
export const show = (a: Answer) => `${a.status} in ${a.ms.toFixed(0)} ms: ${a.text.slice(0, 400)}`
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
export const chatCompletions = (u: Upstream) => u.requests.filter((r) => r.url.includes('/chat/completions'))
