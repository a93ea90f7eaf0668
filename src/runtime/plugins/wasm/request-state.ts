/**
 * One request as a proxy-wasm stream context: its id in the VM it started on, the buffers the
 * plugin may read and replace, and what the plugin decided (a local reply, a replaced answer).
 * Lives on ctx.filterState under the plugin's name; dropped with the request.
 */
import type { RequestContext } from '../../types.js'
import type { HostState, PendingLocalReply } from './host.js'
import type { WasmVm } from './vm.js'

export class RequestState implements HostState {
  /** The request body while proxy_on_request_body runs (replaced by proxy_set_buffer_bytes). */
  requestBody: Uint8Array | undefined
  requestBodyChanged = false
  /** Response bytes the plugin holds back (it returned PAUSE before the end) plus the chunk being shown. */
  responseBody: Uint8Array | undefined
  /** Set by proxy_send_local_response during a callback; acted on when the callback returns. */
  localReply: PendingLocalReply | undefined
  /** The answer was replaced (a local reply from a response callback, a trap): these bytes go out instead. */
  replacement: Uint8Array | undefined
  replacementSent = false
  /** Some response bytes went past this plugin (so the head is on the wire). */
  passed = false
  /** A callback of this request trapped, or the request was answered locally: no more callbacks. */
  stopped = false
  /** One of this request's callbacks trapped: its VM is retired, and nothing more runs for it. */
  trapped = false
  finalized = false

  constructor(readonly vm: WasmVm, readonly ctx: RequestContext, readonly id: number) {}
}
