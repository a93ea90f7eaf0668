/**
 * The opening hold: a stream's opening waits for real output, for OPENING_HOLD_MS at most.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OPENING_HOLD_MS, OpeningHold, type OpeningSink } from '../../../src/runtime/upstream/opening-hold.js'

function sink(): OpeningSink & { written: string[]; crashes: string[]; ended: boolean } {
  const s = {
    ended: false,
    written: [] as string[],
    crashes: [] as string[],
    write: (c: Buffer) => void s.written.push(c.toString()),
    crashed: (e: unknown) => void s.crashes.push((e as Error).message),
  }
  return s
}

test('what is held goes out, in order and in one piece, when real output follows', () => {
  const s = sink()
  const h = new OpeningHold(s)
  h.hold(Buffer.from('role;'))
  h.hold(Buffer.from('empty;'))
  const before = [...s.written]
  h.release()
  assert.deepStrictEqual([before, s.written], [[], ['role;empty;']])
})

test('take() hands the held bytes back and stops the timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const s = sink()
  const h = new OpeningHold(s)
  h.hold(Buffer.from('role;'))
  assert.equal(h.take()?.toString(), 'role;')
  t.mock.timers.tick(OPENING_HOLD_MS * 2)
  assert.deepStrictEqual([s.written, h.take()], [[], undefined])
})

test('after OPENING_HOLD_MS the opening goes out on its own', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const s = sink()
  const h = new OpeningHold(s)
  h.hold(Buffer.from('role;'))
  t.mock.timers.tick(OPENING_HOLD_MS - 1)
  const early = [...s.written]
  t.mock.timers.tick(1)
  assert.deepStrictEqual([early, s.written], [[], ['role;']])
})

test('a release after the exchange ended sends nothing', () => {
  const s = sink()
  const h = new OpeningHold(s)
  h.hold(Buffer.from('role;'))
  s.ended = true
  h.release()
  assert.deepStrictEqual(s.written, [])
})

test('a write that throws from the timer fails the exchange instead of escaping', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const s = sink()
  s.write = () => {
    throw new Error('boom')
  }
  new OpeningHold(s).hold(Buffer.from('role;'))
  t.mock.timers.tick(OPENING_HOLD_MS)
  assert.deepStrictEqual(s.crashes, ['boom'])
})
