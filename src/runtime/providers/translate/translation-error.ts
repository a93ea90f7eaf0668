/**
 * Thrown by request translators when the caller's request cannot be expressed upstream at all
 * (as opposed to a parameter that can merely be dropped). The runtime answers it as a 400 in the
 * caller's protocol; `param` names the offending field, as OpenAI's error `param` does.
 */
export class TranslationError extends Error {
  readonly status = 400
  readonly code = 'SY_TRANSLATE_UNSUPPORTED'
  readonly param: string | null
  constructor(message: string, param: string | null = null) {
    super(message)
    this.name = 'TranslationError'
    this.param = param
  }
}
