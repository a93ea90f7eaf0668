/**
 * Waiting in tests, the two legitimate ways.
 *
 * - Something should happen (background work: a cache fill, a health flip, a log line, a reload):
 *   poll the observable effect with `eventually` and stop as soon as it holds. A fixed
 *   "give it a moment" sleep is a bet on the machine's speed: on a loaded CI box the moment is
 *   longer and the test fails although the code is right. The deadline only bounds how long a
 *   real failure takes to be reported, so it is generous by default.
 * - Something should NOT happen (no second fetch, no log line, still closed): no poll can prove
 *   an absence, so wait a fixed `quietPeriod` first and then assert. A slow box can only make
 *   such a test pass more easily, never fail it wrongly; say in a comment why the wait is fixed.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** Default deadline for `eventually`: long enough for a loaded 2-core box, short enough to report a hang. */
export const EVENTUALLY_MS = 10_000

/**
 * Polls `fn` until it returns true; throws `timed out after <ms> ms waiting for <what>` after `ms`.
 * A throw from `fn` counts as "not yet" (a fetch to a process that is reloading may fail once) and
 * its message is quoted in the timeout error, so a condition that can never hold still says why.
 * `ms` that states a product promise ("within 1 s of the push") stays the caller's; pass it.
 */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = EVENTUALLY_MS, what = 'condition', everyMs = 25): Promise<void> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      if (await fn()) return
      last = undefined
    } catch (err) {
      last = err
    }
    if (Date.now() >= deadline) break
    await sleep(everyMs)
  }
  const why = last === undefined ? '' : ` (last attempt threw: ${last instanceof Error ? last.message : String(last)})`
  throw new Error(`timed out after ${ms} ms waiting for ${what}${why}`)
}

/** Polls `fn` until it returns a value that is not undefined, and returns it (see `eventually`). */
export async function eventuallyValue<T>(fn: () => Promise<T | undefined> | T | undefined, ms = EVENTUALLY_MS, what = 'a value'): Promise<T> {
  let value: T | undefined
  await eventually(async () => (value = await fn()) !== undefined, ms, what)
  return value as T
}

/**
 * A fixed wait before asserting that something did NOT happen. Named so a reader (and a grep for
 * fixed sleeps) can tell it from a bet on speed; it is never followed by a positive assertion.
 */
export const quietPeriod = (ms: number): Promise<void> => sleep(ms)
