/**
 * Removes every secret value the config holds (endpoint keys, AWS credentials, header-filter
 * values, URL passwords: `SnapshotIR.secrets`) from text that came from an upstream before it
 * reaches a client. Built once per snapshot; used on error bodies and headers, which are small.
 *
 * @example
 * const scrub = createScrubber(['sk-live-123'])
 * scrub.text('bad key sk-live-123') // 'bad key [redacted]'
 * createScrubber([], { credentialShapes: true }).text('Bearer abcdefgh12') // 'Bearer [redacted]'
 */
export interface Scrubber {
  /** False when the config holds no secret: callers may skip the call. */
  readonly active: boolean
  text(s: string): string
  /** Returns `b` itself when it holds no secret. */
  bytes(b: Buffer): Buffer
}

const MASK = '[redacted]'
/** Shorter values would mask ordinary words; they are not plausible credentials either. */
const MIN_SECRET_LENGTH = 4

/**
 * Strings shaped like credentials, whatever the config holds: OpenAI / Anthropic (`sk-…`),
 * Switchyard (`sy-<id>_…`), Google (`AIza…`), AWS access key ids, GitHub and Slack tokens, JWTs, and
 * the token after `Bearer`. For text a caller wrote (prompts kept on trace spans), where a key may
 * be pasted that the config never saw; the `Bearer ` word itself is kept.
 */
const CREDENTIAL_SHAPES = /(\b[Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}|\b(?:sk-[A-Za-z0-9_-]{16,}|sy-[a-z0-9-]{1,40}_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{30,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g
const maskShape = (_m: string, bearer: string | undefined): string => (bearer === undefined ? MASK : bearer + MASK)

export interface ScrubberOptions {
  /** Also mask credential-shaped strings (CREDENTIAL_SHAPES), not only the config's own values. */
  readonly credentialShapes?: boolean
}

export function createScrubber(secrets: readonly string[], opts: ScrubberOptions = {}): Scrubber {
  const forms = new Set<string>()
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) continue
    forms.add(s)
    // Echoed values are often URL- or JSON-escaped on the way back.
    forms.add(encodeURIComponent(s))
    forms.add(JSON.stringify(s).slice(1, -1))
  }
  // Longest first: a secret that contains another is masked whole.
  const list = [...forms].sort((a, b) => b.length - a.length)
  const bufs = list.map((s) => Buffer.from(s))
  const shapes = opts.credentialShapes === true
  const active = list.length > 0 || shapes
  return {
    active,
    text(s) {
      if (!active) return s
      for (let i = 0; i < list.length; i++) if (s.includes(list[i])) s = s.split(list[i]).join(MASK)
      return shapes ? s.replace(CREDENTIAL_SHAPES, maskShape) : s
    },
    bytes(b) {
      if (!active) return b
      if (shapes) {
        const s = b.toString('utf8')
        const t = this.text(s)
        return t === s ? b : Buffer.from(t)
      }
      for (let i = 0; i < bufs.length; i++) if (b.indexOf(bufs[i]) !== -1) return Buffer.from(this.text(b.toString('utf8')))
      return b
    },
  }
}
