/**
 * Answers an upstream error (a non-2xx status nothing retried): held whole, then translated into
 * the caller's protocol, or passed on in the same protocol — either way minus any secret the
 * provider echoed and any header the gateway does not forward.
 */
import { sendReply, startResponse } from '../http/respond.js'
import type { Exchange } from './exchange.js'
import { ERROR_BODY_LIMIT, HeldAnswer } from './held-answer.js'
import { forwardedResponseHeaders } from './headers.js'

/** The caller speaks another protocol: the upstream's error becomes the caller's. */
export class TranslatedError extends HeldAnswer {
  constructor(x: Exchange) {
    super(x, ERROR_BODY_LIMIT)
  }

  end(): void {
    const x = this.x
    const ce = x.translator!.error(this.status, this.parse(this.body()), this.headers)
    const scrub = x.ctx.snapshot.scrub
    const headers: [string, string][] = [['content-type', 'application/json']]
    for (const [k, v] of Object.entries(ce.headers)) headers.push([k, scrub.text(v)])
    sendReply(x.ctx, { status: ce.status, headers, body: Buffer.from(scrub.text(JSON.stringify(ce.body))) })
  }
}

/** Same protocol: the provider's own error, scrubbed. */
export class PassedError extends HeldAnswer {
  constructor(x: Exchange) {
    super(x, ERROR_BODY_LIMIT)
  }

  end(): void {
    const x = this.x
    const scrub = x.ctx.snapshot.scrub
    const headers = forwardedResponseHeaders(this.headers!, x.responseHeaders)
    if (scrub.active) for (const h of headers) h[1] = scrub.text(h[1])
    const body = scrub.bytes(this.body())
    startResponse(x.ctx, this.status, headers)
    x.finish(body)
  }
}
