/**
 * A request the translators refuse (TranslationError) as the 400 the caller's protocol expects;
 * Responses API callers get OpenAI error JSON.
 */
import type { LocalReply } from '../types.js'
import { callerError, type CallerProtocol, type TranslationError } from './translate/index.js'

const JSON_TYPE = [['content-type', 'application/json']] as const

export function translationErrorReply(caller: CallerProtocol, e: TranslationError): LocalReply {
  const ce = callerError(caller === 'anthropic' ? 'anthropic' : 'openai', 400, e.message, e.param)
  return { status: ce.status, headers: JSON_TYPE, body: Buffer.from(JSON.stringify(ce.body)) }
}
