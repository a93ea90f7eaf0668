/**
 * The fuel and memory instrumentation, on modules built from WAT: fuel is spent at function
 * entries and loop headers and a runaway loop traps with the counter below zero; memory cannot
 * grow past the cap, and a failed grow is flagged; a module the instrumenter cannot read is refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { instrument, WasmFormatError } from '../../../src/compiler/wasm/instrument.js'
import { FUEL_GLOBAL, OOM_GLOBAL } from '../../../src/shared/proxy-wasm-abi.js'
import { buildPlugin } from '../../support/wasm-plugins.js'

const MB = 1024 * 1024

async function load(wat: string, memoryLimitBytes = 16 * MB) {
  const out = instrument(await buildPlugin('t', wat), { memoryLimitBytes })
  const inst = new WebAssembly.Instance(new WebAssembly.Module(out.binary as Uint8Array<ArrayBuffer>), {})
  const ex = inst.exports as any
  return { out, ex, fuel: ex[FUEL_GLOBAL] as WebAssembly.Global, oom: ex[OOM_GLOBAL] as WebAssembly.Global }
}

const LOOPS = `(module (memory (export "memory") 1 4)
  (func (export "spin") (loop $l (br $l)))
  (func $inner (result i32) (i32.const 1))
  (func (export "count") (param i32) (result i32) (local i32)
    (block $b (loop $l
      (br_if $b (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (call $inner)))
      (br $l)))
    (local.get 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`

test('fuel: one unit per function entry and loop iteration; exhausted, the code traps', async () => {
  const { out, ex, fuel } = await load(LOOPS)
  assert.equal(out.checks, 6, 'four entries and two loop headers')
  fuel.value = 1000
  assert.equal(ex.count(10), 10)
  // count: 1 entry + 11 loop headers + 10 calls of $inner
  assert.equal(fuel.value, 1000 - 22)
  fuel.value = 5000
  assert.throws(() => ex.spin(), (e: any) => e instanceof WebAssembly.RuntimeError)
  assert.equal(fuel.value, -1, 'the counter says why it trapped')
  fuel.value = 1000
  assert.equal(ex.count(3), 3, 'the instance works again after a refill')
})

test('memory: the maximum is capped at memory_limit, and a failed grow sets the flag', async () => {
  const { out, ex, fuel, oom } = await load(LOOPS, 2 * 65536)
  assert.deepEqual(out.memory, { initial: 1, maximum: 2 }, 'lowered from the declared 4 pages')
  fuel.value = 100
  assert.equal(ex.grow(1), 1)
  assert.equal(oom.value, 0)
  assert.equal(ex.grow(1), -1, 'past the cap')
  assert.equal(oom.value, 1)
  const declared = await load(LOOPS, 64 * MB)
  assert.equal(declared.out.memory.maximum, 4, 'a lower declared maximum is kept')
})

test('refusals: imported memory, memory above the limit, an opcode the instrumenter does not know', async () => {
  const imported = await buildPlugin('t', '(module (import "env" "memory" (memory 1)))')
  assert.throws(() => instrument(imported, { memoryLimitBytes: MB }), (e: any) => e instanceof WasmFormatError && /imports its memory/.test(e.message))
  const big = await buildPlugin('t', '(module (memory (export "memory") 32))')
  assert.throws(() => instrument(big, { memoryLimitBytes: MB }), /starts at 32 pages \(2 MiB\), above memory_limit \(16 pages\)/)
  const bytes = await buildPlugin('t', '(module (memory 1) (func (drop (i32.const 1))))')
  // Corrupt the one instruction into an unassigned opcode (0xc5) and expect a refusal, not a guess.
  const at = bytes.lastIndexOf(0x41)
  const bad = bytes.slice()
  bad[at] = 0xc5
  assert.throws(() => instrument(bad, { memoryLimitBytes: MB }), /opcode 0xc5 is not supported/)
})
