/**
 * A request the translators refuse (TranslationError) as the catalog's SY_TRANSLATE_UNSUPPORTED
 * in the caller's protocol; Responses API callers get OpenAI error JSON.
 */
import type { LocalReply } from '../types.js'
import type { CallerProtocol } from '../../protocols.js'
import { errorReply } from '../errors.js'
import type { TranslationError } from './translate/translation-error.js'

export function translationErrorReply(caller: CallerProtocol, e: TranslationError): LocalReply {
  return errorReply(caller === 'anthropic' ? 'anthropic' : 'openai', e.code, e.message, e.param)
}
