/**
 * Thrown by request translators when the caller's request cannot be expressed upstream at all
 * (as opposed to a parameter that can merely be dropped). The runtime answers it as the catalog's
 * SY_TRANSLATE_UNSUPPORTED (a 400) in the caller's protocol; `param` names the offending field, as
 * OpenAI's error `param` does.
 */
import { RuntimeErrors } from '../../errors.js'

export class TranslationError extends Error {
  readonly status = RuntimeErrors.SY_TRANSLATE_UNSUPPORTED.status
  readonly code = 'SY_TRANSLATE_UNSUPPORTED'
  readonly param: string | null
  constructor(message: string, param: string | null = null) {
    super(message)
    this.name = 'TranslationError'
    this.param = param
  }
}
