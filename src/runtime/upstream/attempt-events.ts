/**
 * The attempt lifecycle events (see AttemptObserver in types.ts): compiled once into one array per
 * hook, emitted by the retry layer (start, failed-and-what-next) and the upstream call (response,
 * chunk, end). With no subscriber each emit is an empty loop: no closure, no event object.
 */
import type { AttemptFailure, AttemptNext, AttemptObserver, CompiledAttemptObservers, CompiledCluster, CompiledEndpoint, RequestContext, Usage } from '../types.js'
import { log } from '../../shared/log.js'

const NONE: readonly AttemptObserver[] = Object.freeze([])

/** What a request without subscribers carries: shared, never written. */
export const NO_ATTEMPT_OBSERVERS: CompiledAttemptObservers = Object.freeze({
  onAttemptStart: NONE, onResponseStart: NONE, onResponseChunk: NONE, onAttemptEnd: NONE, onAttemptFailed: NONE,
})

/** Built once per snapshot (like a filter chain): each hook's list holds only the observers that have it. */
export function compileAttemptObservers(observers: readonly AttemptObserver[]): CompiledAttemptObservers {
  if (observers.length === 0) return NO_ATTEMPT_OBSERVERS
  return Object.freeze({
    onAttemptStart: observers.filter((o) => o.onAttemptStart),
    onResponseStart: observers.filter((o) => o.onResponseStart),
    onResponseChunk: observers.filter((o) => o.onResponseChunk),
    onAttemptEnd: observers.filter((o) => o.onAttemptEnd),
    onAttemptFailed: observers.filter((o) => o.onAttemptFailed),
  })
}

/** Telemetry must not fail a request: an observer that throws is logged and the request goes on. */
function observerFailed(ctx: RequestContext, hook: string, e: unknown): void {
  log('error', 'attempt observer failed', { id: ctx.id, hook, error: (e as Error)?.message ?? String(e) })
}

export function emitAttemptStart(ctx: RequestContext, cluster: CompiledCluster, endpoint: CompiledEndpoint, attempt: number): void {
  const list = ctx.attemptObservers.onAttemptStart
  for (let i = 0; i < list.length; i++) {
    try {
      list[i].onAttemptStart!(ctx, cluster, endpoint, attempt)
    } catch (e) {
      observerFailed(ctx, 'onAttemptStart', e)
    }
  }
}

export function emitResponseStart(ctx: RequestContext, status: number): void {
  const list = ctx.attemptObservers.onResponseStart
  for (let i = 0; i < list.length; i++) {
    try {
      list[i].onResponseStart!(ctx, status)
    } catch (e) {
      observerFailed(ctx, 'onResponseStart', e)
    }
  }
}

export function emitResponseChunk(ctx: RequestContext, bytes: number): void {
  const list = ctx.attemptObservers.onResponseChunk
  for (let i = 0; i < list.length; i++) {
    try {
      list[i].onResponseChunk!(ctx, bytes)
    } catch (e) {
      observerFailed(ctx, 'onResponseChunk', e)
    }
  }
}

export function emitAttemptEnd(ctx: RequestContext, usage: Usage | undefined): void {
  const list = ctx.attemptObservers.onAttemptEnd
  for (let i = 0; i < list.length; i++) {
    try {
      list[i].onAttemptEnd!(ctx, usage)
    } catch (e) {
      observerFailed(ctx, 'onAttemptEnd', e)
    }
  }
}

export function emitAttemptFailed(ctx: RequestContext, failure: AttemptFailure, next: AttemptNext): void {
  const list = ctx.attemptObservers.onAttemptFailed
  for (let i = 0; i < list.length; i++) {
    try {
      list[i].onAttemptFailed!(ctx, failure, next)
    } catch (e) {
      observerFailed(ctx, 'onAttemptFailed', e)
    }
  }
}
