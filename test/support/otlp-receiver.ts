/**
 * An OTLP/HTTP trace receiver for tests: decodes an ExportTraceServiceRequest sent as protobuf (what
 * the gateway sends; decoded with the generated OTLP classes of @opentelemetry/otlp-transformer, an
 * implementation independent of the gateway's encoder) or as OTLP JSON (hex ids, typed attribute
 * values) into flat spans, and can
 * misbehave on command to stand in for a collector that is refusing (500), slow, or down (the socket
 * is destroyed before any answer).
 */
import { createRequire } from 'node:module'
import { receive, startHttpServer, type LocalHttpServer } from './http-server.js'

const require = createRequire(import.meta.url)
const { opentelemetry } = require('@opentelemetry/otlp-transformer/build/src/generated/root.js')
const ExportTraceServiceRequest = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest

/** A protobuf ExportTraceServiceRequest in the JSON mapping's shape (hex ids, decimal int64 strings). */
export function protobufToJson(body: Buffer): any {
  const message = ExportTraceServiceRequest.decode(body)
  const hexed = (v: any): any => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
    if (Array.isArray(v)) return v.map(hexed)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hexed(x)]))
    return v
  }
  return hexed(ExportTraceServiceRequest.toObject(message, { longs: String, enums: Number }))
}

export type AttributeValue = string | number | boolean | AttributeValue[]

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  /** '' for a root span. */
  readonly parentSpanId: string
  readonly name: string
  /** OTLP SpanKind: 2 server, 3 client. */
  readonly kind: number
  readonly attributes: Record<string, AttributeValue>
  readonly events: { name: string; attributes: Record<string, AttributeValue> }[]
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: number
  readonly startNs: bigint
  readonly endNs: bigint
  readonly resource: Record<string, AttributeValue>
}

export type ReceiverMode = 'ok' | 'fail500' | { slowMs: number } | 'down'

export interface OtlpReceiver {
  readonly url: string
  readonly spans: ReceivedSpan[]
  /** Every request body as received (to grep for things that must never be exported). */
  readonly rawBodies: string[]
  /** Export requests seen, whatever the answer. */
  requests: number
  setMode(mode: ReceiverMode): void
  /** Spans until `pred` holds for the received ones (polls). */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, ms?: number, what?: string): Promise<ReceivedSpan[]>
  close(): Promise<void>
}

function value(v: any): AttributeValue {
  if (v === undefined || v === null) return ''
  if ('stringValue' in v) return v.stringValue
  if ('intValue' in v) return Number(v.intValue)
  if ('doubleValue' in v) return Number(v.doubleValue)
  if ('boolValue' in v) return v.boolValue
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(value)
  return JSON.stringify(v)
}

function attributes(list: any[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {}
  for (const a of list ?? []) out[a.key] = value(a.value)
  return out
}

/** OTLP JSON's ExportTraceServiceRequest → flat spans. */
export function decodeTraces(body: any): ReceivedSpan[] {
  const out: ReceivedSpan[] = []
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e: any) => ({ name: e.name, attributes: attributes(e.attributes) })),
          status: s.status?.code ?? 0,
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          resource,
        })
      }
    }
  }
  return out
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let mode: ReceiverMode = 'ok'
  const spans: ReceivedSpan[] = []
  const rawBodies: string[] = []
  let server: LocalHttpServer | undefined
  const r: OtlpReceiver = {
    url: '',
    spans,
    rawBodies,
    requests: 0,
    setMode: (m) => (mode = m),
    async waitFor(pred, ms = 10_000, what = 'spans') {
      const deadline = Date.now() + ms
      while (Date.now() < deadline) {
        if (pred(spans)) return spans
        await new Promise((res) => setTimeout(res, 25))
      }
      throw new Error(`timed out after ${ms} ms waiting for ${what}; got ${spans.length} spans: ${spans.map((s) => s.name).join(', ')}`)
    },
    close: () => server!.close(),
  }
  server = await startHttpServer((req, res) => {
    r.requests++
    if (mode === 'down') return req.socket.destroy()
    receive(req, (got) => {
      const answer = () => {
        if (mode === 'fail500') return res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":13,"message":"collector failure"}')
        const type = req.headers['content-type']
        if (req.url !== '/v1/traces' || (type !== 'application/json' && type !== 'application/x-protobuf')) return res.writeHead(415).end()
        // Strings in protobuf are UTF-8 bytes: the raw body as text still shows every exported string.
        rawBodies.push(got.body.toString('latin1'))
        spans.push(...decodeTraces(type === 'application/json' ? JSON.parse(got.body.toString()) : protobufToJson(got.body)))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      }
      if (typeof mode === 'object') setTimeout(answer, mode.slowMs)
      else answer()
    })
  })
  return Object.assign(r, { url: `${server.origin}/v1/traces` })
}
