/**
 * A batch input file, line by line (OpenAI's format): `{"custom_id", "method": "POST", "url",
 * "body"}` per line, the url the batch's endpoint. A line that is not such an object is refused on
 * its own and answered in the error file with its line number; a custom_id used twice refuses
 * the whole batch (the output is matched to the input by it), as do too many lines.
 */
export const BATCH_ENDPOINTS: readonly string[] = ['/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/responses', '/v1/moderations']

export interface ParsedLine {
  /** Position among the file's non-empty lines (0-based): the output's order. */
  readonly index: number
  /** 1-based line number in the file. */
  readonly line: number
  readonly customId: string
  readonly body: string
}

export interface InvalidLine {
  readonly index: number
  readonly line: number
  /** The line's custom_id when it had a usable one. */
  readonly customId: string | null
  readonly code: 'invalid_json_line' | 'invalid_line'
  readonly message: string
}

export type ParsedFile =
  | { readonly ok: true; readonly lines: readonly ParsedLine[]; readonly invalid: readonly InvalidLine[] }
  | { readonly ok: false; readonly code: 'SY_BATCH_DUPLICATE_CUSTOM_ID' | 'SY_BATCH_INVALID'; readonly message: string }

export function parseBatchFile(text: string, endpoint: string, maxLines: number): ParsedFile {
  const lines: ParsedLine[] = []
  const invalid: InvalidLine[] = []
  const seen = new Map<string, number>()
  const rows = text.split('\n')
  let index = 0
  for (let n = 0; n < rows.length; n++) {
    const raw = rows[n].trim()
    if (raw === '') continue
    if (index === maxLines) return { ok: false, code: 'SY_BATCH_INVALID', message: `the input file has more than ${maxLines} lines (batches.max_lines)` }
    const lineNo = n + 1
    const at = index++
    let v: unknown
    try {
      v = JSON.parse(raw)
    } catch (e) {
      invalid.push({ index: at, line: lineNo, customId: null, code: 'invalid_json_line', message: `line ${lineNo} is not valid JSON (${(e as Error).message})` })
      continue
    }
    const problem = lineProblem(v, endpoint)
    const customId = isObject(v) && typeof v.custom_id === 'string' && v.custom_id !== '' ? v.custom_id : null
    if (customId !== null) {
      const first = seen.get(customId)
      if (first !== undefined) return { ok: false, code: 'SY_BATCH_DUPLICATE_CUSTOM_ID', message: `custom_id '${customId}' on line ${lineNo} duplicates line ${first}; every line needs its own custom_id` }
      seen.set(customId, lineNo)
    }
    if (problem !== undefined) {
      invalid.push({ index: at, line: lineNo, customId, code: 'invalid_line', message: `line ${lineNo}: ${problem}` })
      continue
    }
    lines.push({ index: at, line: lineNo, customId: customId!, body: JSON.stringify((v as Record<string, unknown>).body) })
  }
  return { ok: true, lines, invalid }
}

function lineProblem(v: unknown, endpoint: string): string | undefined {
  if (!isObject(v)) return 'must be a JSON object with custom_id, method, url and body'
  if (typeof v.custom_id !== 'string' || v.custom_id === '') return 'custom_id must be a non-empty string'
  if (v.method !== 'POST') return `method must be "POST" (got ${JSON.stringify(v.method ?? null)})`
  if (v.url !== endpoint) return `url must be the batch's endpoint "${endpoint}" (got ${JSON.stringify(v.url ?? null)})`
  if (!isObject(v.body)) return 'body must be a JSON object (the request body)'
  if (v.body.stream === true) return 'body.stream must not be true: a batch line cannot stream'
  return undefined
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
