/**
 * Holds back an answer whose status the route may retry or fail over on (after undici's
 * RetryHandler): it wraps the exchange's own response handler, reads the answer whole (it is an
 * error, so small) while the client sees nothing, and at its end either hands the failure to the
 * retry layer or, when nothing takes it, replays it into the wrapped handler as if never held.
 */
import { parseUpstreamError } from '../providers/translate/index.js'
import type { AttemptControl } from '../types.js'
import type { Exchange, ResponseStrategy } from './exchange.js'
import { ERROR_BODY_LIMIT, HeldAnswer } from './held-answer.js'

export class HoldForRetry extends HeldAnswer {
  constructor(x: Exchange, private readonly attempt: AttemptControl, private readonly inner: ResponseStrategy) {
    super(x, ERROR_BODY_LIMIT)
  }

  end(): void {
    const x = this.x
    const status = this.status
    const headers = this.headers!
    const body = this.body()
    const kind = parseUpstreamError(x.upstreamProtocol, status, this.parse(body), headers).kind
    const ra = headers['retry-after']
    // This attempt is over before the next one starts (which may happen inside takeOver).
    x.settle()
    if (this.attempt.takeOver({ kind: 'status', status, ...(typeof ra === 'string' && { retryAfter: ra }), contextLength: kind === 'context_length' })) return
    x.reopen()
    const inner = this.inner
    inner.start(status, headers)
    inner.data(body)
    inner.end()
  }
}
