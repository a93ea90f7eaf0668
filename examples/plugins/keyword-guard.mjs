// A Switchyard plugin (docs/plugins.md): stops an answer that contains a banned word. It reads the
// answer's text as it streams (OpenAI and Anthropic event streams, and whole JSON answers), and on
// a hit ends the stream with an error event carrying `message`; the upstream call is cancelled.

export const apiVersion = 1

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['words'],
  properties: {
    words: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description: 'Banned words, matched whole and case-insensitively.' },
    message: { type: 'string', default: 'the answer was stopped: it contained a blocked word', description: 'The error message the caller gets.' },
  },
}

// The text fields of streamed deltas and whole answers: OpenAI `content`, Anthropic `text`.
const TEXT_FIELD = /"(?:content|text)"\s*:\s*"((?:[^"\\]|\\.)*)"/g

export function create(options) {
  const escaped = options.words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const banned = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join('|')})(?![\\p{L}\\p{N}])`, 'iu')
  // Enough of the previous text to catch a word split across two chunks.
  const keep = Math.max(...options.words.map((w) => w.length))
  const LETTER = /[\p{L}\p{N}]/u

  // The end of `seen` a banned word may still start in: a word that began before the cut cannot
  // hold a match (that needs a boundary), so it is dropped rather than re-read without its start.
  function tailOf(seen) {
    const cut = Math.max(0, seen.length - keep)
    let tail = seen.slice(cut)
    if (cut > 0 && LETTER.test(seen[cut - 1])) tail = tail.replace(/^[\p{L}\p{N}]+/u, '')
    return tail
  }

  return {
    onChunk(ctx) {
      let text = ''
      for (const m of ctx.chunk.matchAll(TEXT_FIELD)) {
        try {
          text += JSON.parse(`"${m[1]}"`)
        } catch {}
      }
      if (text === '') return
      const seen = (ctx.state.tail ?? '') + text
      if (banned.test(seen)) return void ctx.reply(400, options.message)
      ctx.state.tail = tailOf(seen)
    },
  }
}
