/**
 * `fault` filter: Envoy-style fault injection, to rehearse how clients and fallbacks behave when
 * an upstream is slow or failing — without touching the upstream. A delay holds the request
 * before it goes on; an abort answers it with an error in the caller's protocol. Each is decided
 * independently per request with its own percentage; with both, the delay comes first.
 *
 * @example
 * filters:
 *   - name: chaos
 *     type: fault
 *     config:
 *       only_with_header: x-chaos
 *       delay: { percent: 10, duration: 2s }
 *       abort: { percent: 5, status: 503, message: injected outage }
 */
import type { Protocol } from '../../protocols.js'
import { statusErrorReply } from '../errors.js'
import { durationMs } from '../../shared/units.js'
import type { Filter, FilterDeps, LocalReply, RequestContext } from '../types.js'

/** As in schemas/filters/fault.schema.json (validated, defaults filled). */
export interface FaultConfig {
  delay?: { percent: number; duration: string }
  abort?: { percent: number; status: number; message?: string }
  only_with_header?: string
}

export interface CompiledFault {
  readonly delay: { readonly percent: number; readonly ms: number } | undefined
  readonly abort: { readonly percent: number; readonly status: number; readonly message: string } | undefined
  /** Lower-case header name; faults apply only to requests carrying it. */
  readonly onlyWithHeader: string | undefined
}

export interface FaultRuntime {
  readonly random: () => number
  readonly sleep: (ms: number) => Promise<void>
}

export function compileFault(config: FaultConfig): CompiledFault {
  const d = config.delay
  const a = config.abort
  return {
    delay: d && d.percent > 0 ? { percent: d.percent, ms: durationMs(d.duration) } : undefined,
    abort: a && a.percent > 0 ? { percent: a.percent, status: a.status, message: a.message ?? 'fault injected' } : undefined,
    onlyWithHeader: config.only_with_header?.toLowerCase(),
  }
}

/** The injected error (SY_FAULT_INJECTED), typed by its status. */
export function faultReply(protocol: Protocol, status: number, message: string): LocalReply {
  return statusErrorReply(protocol, 'SY_FAULT_INJECTED', status, message)
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function createFault(fault: CompiledFault, rt: FaultRuntime = { random: Math.random, sleep: realSleep }): Filter {
  const { delay, abort, onlyWithHeader } = fault
  if (!delay && !abort) return { name: 'fault' }
  const replies = abort && { openai: faultReply('openai', abort.status, abort.message), anthropic: faultReply('anthropic', abort.status, abort.message) }
  // percent is 0–100 with fractions allowed (0.5 = one request in 200).
  const hit = (percent: number) => percent >= 100 || rt.random() * 100 < percent
  return {
    name: 'fault',
    onRequest(ctx: RequestContext) {
      if (onlyWithHeader !== undefined && ctx.head.headers[onlyWithHeader] === undefined) return undefined
      const delayed = delay !== undefined && hit(delay.percent)
      const reply = replies && hit(abort.percent) ? replies[ctx.protocol] : undefined
      return delayed ? rt.sleep(delay.ms).then(() => reply) : reply
    },
  }
}

export function create(config: FaultConfig, _deps: FilterDeps): Filter {
  return createFault(compileFault(config))
}
