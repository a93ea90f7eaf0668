/**
 * Removes every secret value the config holds (endpoint keys, AWS credentials, header-filter
 * values, URL passwords: `SnapshotIR.secrets`) from text that came from an upstream before it
 * reaches a client. Built once per snapshot; used on error bodies and headers, which are small.
 *
 * @example
 * const scrub = createScrubber(['sk-live-123'])
 * scrub.text('bad key sk-live-123') // 'bad key [redacted]'
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

export function createScrubber(secrets: readonly string[]): Scrubber {
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
  const active = list.length > 0
  return {
    active,
    text(s) {
      if (!active) return s
      for (let i = 0; i < list.length; i++) if (s.includes(list[i])) s = s.split(list[i]).join(MASK)
      return s
    },
    bytes(b) {
      if (!active) return b
      for (let i = 0; i < bufs.length; i++) if (b.indexOf(bufs[i]) !== -1) return Buffer.from(this.text(b.toString('utf8')))
      return b
    },
  }
}
