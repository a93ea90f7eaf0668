/** Frames events as `text/event-stream`. Data with line breaks becomes several `data:` lines. */

export interface SseFrame {
  event?: string
  data: string
  id?: string
  retry?: number
}

const LINE_BREAK = /\r\n|\r|\n/

export function formatSseEvent(frame: SseFrame): string {
  let s = ''
  if (frame.event !== undefined) s += 'event: ' + frame.event + '\n'
  if (frame.id !== undefined) s += 'id: ' + frame.id + '\n'
  if (frame.retry !== undefined) s += 'retry: ' + frame.retry + '\n'
  const data = frame.data
  // JSON.stringify never emits a raw line break, so the common case skips the split.
  if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) return s + 'data: ' + data + '\n\n'
  for (const line of data.split(LINE_BREAK)) s += 'data: ' + line + '\n'
  return s + '\n'
}

/** `data: <json>\n\n` — the OpenAI framing (no event name). */
export function formatSseData(value: unknown): string {
  return 'data: ' + JSON.stringify(value) + '\n\n'
}

/** `event: <name>\ndata: <json>\n\n` — the Anthropic framing (event name equals the payload's type). */
export function formatSseNamed(event: string, value: unknown): string {
  return 'event: ' + event + '\ndata: ' + JSON.stringify(value) + '\n\n'
}

export function formatSseComment(text: string): string {
  return ': ' + text + '\n\n'
}
