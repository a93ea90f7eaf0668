/** Durations (`250ms`, `30s`, `5m`, `1h`) and sizes (`512kb`, `1mb`) as validated by the schema. */
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const SIZE_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

export function durationMs(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(text)
  if (!m) throw new Error(`invalid duration ${JSON.stringify(text)}`)
  return Math.round(Number(m[1]) * DURATION_MS[m[2]])
}

export function sizeBytes(text: string): number {
  const m = /^([0-9]+)(b|kb|mb|gb)$/.exec(text)
  if (!m) throw new Error(`invalid size ${JSON.stringify(text)}`)
  return Number(m[1]) * SIZE_BYTES[m[2]]
}
