// A Switchyard plugin (docs/plugins.md): masks e-mail addresses, phone numbers and payment card
// numbers in a request's messages before the upstream sees them. OpenAI chat, Anthropic messages
// and Responses API bodies; text in strings and in text parts.

export const apiVersion = 1

/** Checked against `options` when the config is compiled (defaults filled in). */
export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    replacement: { type: 'string', default: '[redacted {kind}]', description: 'What replaces a match; {kind} becomes email, phone or card.' },
    kinds: { type: 'array', items: { enum: ['email', 'phone', 'card'] }, uniqueItems: true, minItems: 1, default: ['email', 'phone', 'card'] },
  },
}

const PATTERNS = {
  email: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
  // 13–19 digits, optionally grouped by spaces or dashes; kept only when the Luhn check passes.
  card: /\b\d(?:[ -]?\d){12,18}\b/g,
  // +country code optional, 9–15 digits with the usual separators.
  phone: /(?<![\w+])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?(?:[ .-]?\d{2,4}){2,4}(?!\w)/g,
}

function luhn(digits) {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  return sum % 10 === 0
}

export function create(options, host) {
  // Cards before phones: a card number also looks like a long phone number.
  const order = ['email', 'card', 'phone'].filter((k) => options.kinds.includes(k))
  const replace = (kind) => options.replacement.replaceAll('{kind}', kind)

  function redact(text, counts) {
    let out = text
    for (const kind of order) {
      out = out.replace(PATTERNS[kind], (m) => {
        const digits = m.replace(/\D/g, '')
        if (kind === 'card' && !luhn(digits)) return m
        if (kind === 'phone' && (digits.length < 9 || digits.length > 15)) return m
        counts.n++
        return replace(kind)
      })
    }
    return out
  }

  // A message's content: a string, or parts / blocks with `text`.
  function redactContent(content, counts) {
    if (typeof content === 'string') return redact(content, counts)
    if (Array.isArray(content)) for (const part of content) if (part && typeof part.text === 'string') part.text = redact(part.text, counts)
    return content
  }

  return {
    onRequest(ctx) {
      const body = ctx.body
      if (body === null || typeof body !== 'object') return
      const counts = { n: 0 }
      if (Array.isArray(body.messages)) for (const m of body.messages) if (m) m.content = redactContent(m.content, counts)
      if (body.system !== undefined) body.system = redactContent(body.system, counts)
      if (typeof body.input === 'string') body.input = redact(body.input, counts)
      else if (Array.isArray(body.input)) for (const item of body.input) if (item) item.content = redactContent(item.content, counts)
      if (counts.n === 0) return
      ctx.setBody(body)
      host.log('debug', 'redacted personal data', { id: ctx.requestId, matches: counts.n })
    },
  }
}
