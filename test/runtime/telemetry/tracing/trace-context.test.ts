import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatTraceparent, parseTraceparent } from '../../../../src/runtime/telemetry/tracing/trace-context.js'

const T = '4bf92f3577b34da6a3ce929d0e0e4736'
const S = '00f067aa0ba902b7'

test('traceparent values read as the W3C spec says', () => {
  const cases: [string | undefined, ReturnType<typeof parseTraceparent>][] = [
    [`00-${T}-${S}-01`, { traceId: T, spanId: S, traceFlags: 1 }],
    [`00-${T}-${S}-00`, { traceId: T, spanId: S, traceFlags: 0 }],
    [`00-${T}-${S}-09`, { traceId: T, spanId: S, traceFlags: 9 }],
    [`01-${T}-${S}-01-future-field`, { traceId: T, spanId: S, traceFlags: 1 }],
    [`00-${T}-${S}-01-extra`, undefined],
    [`ff-${T}-${S}-01`, undefined],
    [`00-${'0'.repeat(32)}-${S}-01`, undefined],
    [`00-${T}-${'0'.repeat(16)}-01`, undefined],
    [`00-${T.toUpperCase()}-${S}-01`, undefined],
    [`00-${T}-${S}-1`, undefined],
    [`00_${T}_${S}_01`, undefined],
    ['', undefined],
    [undefined, undefined],
  ]
  assert.deepStrictEqual(cases.map(([v]) => parseTraceparent(v)), cases.map(([, want]) => want))
})

test('an outgoing traceparent is version 00 with the sampled bit only', () => {
  assert.equal(formatTraceparent(T, S, 1), `00-${T}-${S}-01`)
  assert.equal(formatTraceparent(T, S, 0), `00-${T}-${S}-00`)
  assert.equal(formatTraceparent(T, S, 3), `00-${T}-${S}-01`)
})
