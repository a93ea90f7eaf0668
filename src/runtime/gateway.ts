/**
 * Holds the current snapshot of one worker. swap() is one assignment; requests keep the snapshot
 * they arrived on until they end, and a replaced snapshot is retired (its pools released) only
 * when its last request is over.
 *
 * @example
 * const gw = new Gateway(stores)
 * gw.swap(buildSnapshot(ir, stores))
 * const live = gw.enter()            // at request arrival
 * ...; gw.leave(live)                // when the response ends
 */
import type { Snapshot, Stores } from './types.js'
import { releaseSnapshot } from './build/snapshot.js'

export interface LiveSnapshot {
  readonly snapshot: Snapshot
  inflight: number
  retired: boolean
}

export class Gateway {
  private live: LiveSnapshot | undefined
  private readonly draining = new Set<LiveSnapshot>()
  inflight = 0
  private idleWaiters: (() => void)[] = []

  constructor(readonly stores: Stores) {}

  get current(): Snapshot | undefined {
    return this.live?.snapshot
  }

  swap(next: Snapshot): void {
    const prev = this.live
    this.live = { snapshot: next, inflight: 0, retired: false }
    if (prev) {
      if (prev.inflight === 0) this.retire(prev)
      else this.draining.add(prev)
    }
  }

  enter(): LiveSnapshot {
    const l = this.live!
    l.inflight++
    this.inflight++
    return l
  }

  leave(l: LiveSnapshot): void {
    l.inflight--
    this.inflight--
    if (l.inflight === 0 && l !== this.live) this.retire(l)
    if (this.inflight === 0 && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w()
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r))
  }

  private retire(l: LiveSnapshot): void {
    if (l.retired) return
    l.retired = true
    this.draining.delete(l)
    releaseSnapshot(l.snapshot, this.stores)
  }
}
