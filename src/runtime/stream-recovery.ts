/**
 * `stream_recovery: continue` for OpenAI-format client streams. While a stream flows, the text the
 * client has received is recorded (from the bytes we write, so translated streams count too). When
 * the upstream breaks mid-answer, the next fallback is asked to continue from that text, and its
 * chunks are rewritten (same id and model as the original, no second role delta) so the client
 * sees one stream.
 *
 * What it guarantees: one well-formed stream, one id, the text received before the cut is never
 * repeated by the gateway. What it cannot: make a different model continue in the same voice, or
 * guarantee the continuation does not repeat or rephrase a few words (exact on Anthropic-protocol
 * upstreams, where the prefix is a real assistant prefill; best effort on OpenAI-format ones,
 * which are told to continue). Usage counts only what providers report: the broken attempt's
 * output tokens are not reported by anyone, so the summed usage misses them.
 */
export class StreamRecorder {
  text = ''
  id: string | undefined
  model: string | undefined
  created: number | undefined
  private carry = ''

  /** Feeds bytes written to the client. Only `data:` lines of chat.completion.chunk events matter. */
  push(chunk: Uint8Array): void {
    const s = this.carry + Buffer.from(chunk).toString('utf8')
    const end = s.lastIndexOf('\n')
    this.carry = end < 0 ? s : s.slice(end + 1)
    if (end < 0) return
    for (const line of s.slice(0, end).split('\n')) {
      if (!line.startsWith('data:')) continue
      const data = line.slice(5).trim()
      if (data === '' || data === '[DONE]') continue
      try {
        const j = JSON.parse(data)
        this.id ??= j.id
        this.model ??= j.model
        this.created ??= j.created
        const c = j.choices?.[0]?.delta?.content
        if (typeof c === 'string') this.text += c
      } catch {
        // an error event or garbage: nothing to record
      }
    }
  }
}

/** The request for the continuation: the original messages plus what the client already has. */
export function continuationRequest(json: any, prefix: string, anthropicUpstream: boolean): any {
  const messages = Array.isArray(json.messages) ? json.messages.slice() : []
  messages.push({ role: 'assistant', content: prefix })
  if (!anthropicUpstream) {
    messages.push({ role: 'user', content: 'Your previous reply was cut off. Continue it exactly where it stopped: do not repeat any of it and do not add a preamble.' })
  }
  return { ...json, messages }
}

/** Rewrites one continuation chunk so it reads as part of the original stream. */
export class ContinuationRewriter {
  private carry = ''
  constructor(private readonly original: StreamRecorder) {}

  push(chunk: Uint8Array): Buffer {
    const s = this.carry + Buffer.from(chunk).toString('utf8')
    const end = s.lastIndexOf('\n\n')
    if (end < 0) {
      this.carry = s
      return Buffer.alloc(0)
    }
    this.carry = s.slice(end + 2)
    let out = ''
    for (const ev of s.slice(0, end).split('\n\n')) {
      const line = ev.split('\n').find((l) => l.startsWith('data:'))
      if (!line) continue
      const data = line.slice(5).trim()
      if (data === '[DONE]') {
        out += 'data: [DONE]\n\n'
        continue
      }
      try {
        const j = JSON.parse(data)
        if (this.original.id) j.id = this.original.id
        if (this.original.model) j.model = this.original.model
        if (this.original.created) j.created = this.original.created
        const delta = j.choices?.[0]?.delta
        if (delta) delete delta.role
        out += `data: ${JSON.stringify(j)}\n\n`
      } catch {
        out += ev + '\n\n'
      }
    }
    return Buffer.from(out)
  }
}
