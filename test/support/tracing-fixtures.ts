/** Encoded request traces as the request path builds them, for the export ring and thread tests. */
import { attributeFragment, encodeTrace } from '../../src/runtime/telemetry/tracing/otlp-proto.js'
import { AttemptSpan, randomHex, RequestTrace } from '../../src/runtime/telemetry/tracing/span-record.js'

const listener = attributeFragment([['server.port', 8080], ['switchyard.listener', 'api']])
const endpoint = attributeFragment([['gen_ai.provider.name', 'openai'], ['switchyard.cluster', 'up'], ['switchyard.endpoint', 'e0']])

/** One finished request of two spans (server + attempt), encoded as the request path does it. */
export function encodedTrace(requestId: string): Uint8Array {
  return encode(requestId, undefined)
}

/** A two-span trace whose attempt carries all three content attributes at `bytes` each (a capturing rule's worst case). */
export function contentTrace(requestId: string, bytes: number): Uint8Array {
  const fill = (c: string) => `[{"type":"text","content":"${c.repeat(bytes - 30)}"}]`
  return encode(requestId, { systemInstructions: fill('s'), inputMessages: fill('i'), outputMessages: fill('o') })
}

function encode(requestId: string, content: AttemptSpan['content']): Uint8Array {
  const t = new RequestTrace(randomHex(32), randomHex(16), '', 1000, 'POST', '/v1/chat/completions', listener, requestId, 'chat')
  const a = new AttemptSpan(randomHex(16), 1001, endpoint, 1, undefined)
  a.endedAt = 1002
  if (content !== undefined) a.content = content
  t.addAttempt(a)
  t.route = 'chat'
  t.status = 200
  t.endedAt = 1003
  t.spans = 2
  return encodeTrace(t)
}
