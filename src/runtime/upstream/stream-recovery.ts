import type { ContinuationPrefill } from '../../compiler/ir.js'

/**
 * `stream_recovery: continue` for OpenAI-format client streams. While a stream flows, the text the
 * client has received is recorded (from the bytes we write, so translated streams count too). When
 * the upstream breaks mid-answer, the next fallback is asked to continue from that text, and its
 * chunks are rewritten (same id and model as the original, no second role delta) so the client
 * sees one stream.
 *
 * What it guarantees: one well-formed stream, one id, the text received before the cut is never
 * repeated by the gateway. A continuation that restarts the answer (restates
 * the opening the client has, or opens with a preamble) is discarded unseen and the stream ends
 * with an error event: two answers are never spliced. What it cannot: make a different model
 * continue in the same voice, or notice a continuation that rephrases without restarting (rare
 * where the cluster prefills: Anthropic, Bedrock, Gemini, vLLM, DeepSeek; commoner without). Usage counts only what providers report: the broken attempt's
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

/**
 * The request for the continuation: the original messages plus what the client already has, in
 * the cluster's prefill form. `assistant` (Anthropic, Bedrock, Gemini: a final assistant/model turn
 * is a prefill; Anthropic refuses one ending in whitespace), `vllm` (`continue_final_message`),
 * `deepseek` (`prefix: true`), or `none`: a user turn asks the model to continue.
 */
export function continuationRequest(json: any, prefix: string, prefill: ContinuationPrefill): any {
  const messages = Array.isArray(json.messages) ? json.messages.slice() : []
  switch (prefill) {
    case 'assistant':
      messages.push({ role: 'assistant', content: prefix.trimEnd() })
      return { ...json, messages }
    case 'vllm':
      messages.push({ role: 'assistant', content: prefix })
      return { ...json, messages, continue_final_message: true, add_generation_prompt: false }
    case 'deepseek':
      messages.push({ role: 'assistant', content: prefix, prefix: true })
      return { ...json, messages }
    case 'none':
      messages.push({ role: 'assistant', content: prefix })
      messages.push({ role: 'user', content: 'Your previous reply was cut off. Continue it exactly where it stopped: do not repeat any of it and do not add a preamble.' })
      return { ...json, messages }
  }
}

/** The whitespace a prefill of this kind trims off the end of the client's text (see continuationRequest). */
export function trimmedByPrefill(prefix: string, prefill: ContinuationPrefill): string {
  return prefill === 'assistant' ? prefix.slice(prefix.trimEnd().length) : ''
}

/** Characters of a continuation looked at before its first byte reaches the client. */
const CHECK_CHARS = 24
/** Openings that mean the model answered afresh (or chatted) instead of continuing. */
const RESTART = /^(?:sure|certainly|of course|okay|ok|here(?:'s| is| are)|i apologi[sz]e|apologies|sorry|as i was saying|continuing|to continue)\b/

const normalise = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim()

/**
 * Did the continuation restart the answer? True when its opening restates the client's opening
 * (whitespace and case normalised) or opens with a preamble. Too little text to tell is no.
 */
export function restarted(prefix: string, continuation: string): boolean {
  const c = normalise(continuation)
  if (RESTART.test(c)) return true
  const p = normalise(prefix)
  const k = Math.min(CHECK_CHARS, p.length, c.length)
  return k >= 4 && c.slice(0, k) === p.slice(0, k)
}

/**
 * Rewrites continuation chunks so they read as part of the original stream — after checking,
 * on the first CHECK_CHARS characters, that they continue it rather than restart it. Until that
 * is decided nothing is released; a restart sets `refused` and nothing of it is ever sent.
 */
export class ContinuationRewriter {
  private carry = ''
  private held: string | undefined = ''
  private heldText = ''
  /** The continuation restarted the answer: it must be dropped and the stream ended with an error. */
  refused = false
  /**
   * `skip`: the whitespace the prefill trimmed off the client's text (Anthropic refuses it). The
   * model continues after the trimmed text, so its continuation opens with that whitespace again,
   * which the client already has: it is dropped, once.
   */
  constructor(private readonly original: StreamRecorder, private skip = '') {}

  push(chunk: Uint8Array): Buffer {
    const s = this.carry + Buffer.from(chunk).toString('utf8')
    const end = s.lastIndexOf('\n\n')
    if (end < 0) {
      this.carry = s
      return EMPTY
    }
    this.carry = s.slice(end + 2)
    let out = ''
    let ended = false
    for (const ev of s.slice(0, end).split('\n\n')) {
      const line = ev.split('\n').find((l) => l.startsWith('data:'))
      if (!line) continue
      const data = line.slice(5).trim()
      if (data === '[DONE]') {
        out += 'data: [DONE]\n\n'
        ended = true
        continue
      }
      try {
        const j = JSON.parse(data)
        if (this.original.id) j.id = this.original.id
        if (this.original.model) j.model = this.original.model
        if (this.original.created) j.created = this.original.created
        const choice = j.choices?.[0]
        const delta = choice?.delta
        if (delta) delete delta.role
        if (this.skip !== '' && typeof delta?.content === 'string' && delta.content !== '') {
          const c: string = delta.content
          let k = 0
          while (k < this.skip.length && k < c.length && c[k] === this.skip[k]) k++
          delta.content = c.slice(k)
          // Anything but the trimmed whitespace ends the skipping.
          this.skip = k < c.length ? '' : this.skip.slice(k)
        }
        if (this.held !== undefined && typeof delta?.content === 'string') this.heldText += delta.content
        if (choice?.finish_reason != null) ended = true
        out += `data: ${JSON.stringify(j)}\n\n`
      } catch {
        out += ev + '\n\n'
      }
    }
    if (this.held === undefined) return Buffer.from(out)
    // Still deciding: hold until enough text (or the end) shows whether this continues the answer.
    this.held += out
    if (!ended && normalise(this.heldText).length < CHECK_CHARS) return EMPTY
    if (restarted(this.original.text, this.heldText)) {
      this.refused = true
      this.held = ''
      return EMPTY
    }
    const release = this.held
    this.held = undefined
    return Buffer.from(release)
  }
}

const EMPTY = Buffer.alloc(0)
