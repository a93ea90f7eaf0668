/**
 * The checker behind POST /config/validate: the same answer as checking in-process, but in a
 * thread of its own — the main thread's event loop keeps turning during a megabyte-sized check —
 * one at a time with a bounded queue, and a check past its time or memory is stopped without
 * taking anything else with it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkConfigText } from '../../../src/control/admin/config-check.js'
import { ConfigChecker } from '../../../src/control/admin/config-checker.js'
import { MAX_VALIDATE_BYTES } from '../../../src/control/admin/validate-config.js'
import { repoRoot } from '../../support/repo-root.js'

const EXAMPLE = readFileSync(join(repoRoot, 'examples', 'console.yaml'), 'utf8')
const BROKEN = EXAMPLE.replace('weight: 90', 'weight: ninety').replace('port: 8080', 'port: 80800')

/** `console.yaml:<line>:<col>` of `needle` in `text`, moved `shift` characters right. */
function at(text: string, needle: string, shift: number): string {
  const before = text.slice(0, text.indexOf(needle) + shift).split('\n')
  return `console.yaml:${before.length}:${before[before.length - 1].length + 1}`
}

/** The example with keys appended until it is just under `bytes`. */
function withKeys(bytes: number): string {
  const lines = [EXAMPLE.trimEnd(), 'keys:']
  let size = lines.join('\n').length
  for (let i = 0; ; i++) {
    const line = `  - { id: key-${String(i).padStart(6, '0')}, tenant: demo, hash: "sha256:${createHash('sha256').update(String(i)).digest('hex')}" }`
    if (size + line.length + 2 > bytes) break
    lines.push(line)
    size += line.length + 1
  }
  return lines.join('\n') + '\n'
}

test('the thread answers exactly what an in-process check answers, valid or not', async (t) => {
  const checker = new ConfigChecker()
  t.after(() => checker.close())
  for (const text of [EXAMPLE, BROKEN]) {
    const o = await checker.check('console.yaml', text)
    assert.equal(o.kind, 'answer')
    assert.deepStrictEqual(o.kind === 'answer' && o.answer, checkConfigText('console.yaml', text))
  }
  const broken = checkConfigText('console.yaml', BROKEN)
  assert.equal(broken.ok, false)
  assert.deepStrictEqual(!broken.ok && broken.errors.map((l) => l.split(': ')[0]), [at(BROKEN, 'port: 80800', 6), at(BROKEN, 'weight: ninety', 8)])
})

test('the main thread keeps turning while a megabyte-sized config is checked (in-process, it would not)', async (t) => {
  const text = withKeys(MAX_VALIDATE_BYTES)
  assert.ok(text.length > MAX_VALIDATE_BYTES * 0.99)
  const checker = new ConfigChecker()
  t.after(() => checker.close())
  await checker.check('warm.yaml', EXAMPLE) // the thread's start (loading the compiler) is not the point here

  const gaps = async (work: () => Promise<unknown> | unknown) => {
    let last = performance.now()
    let worst = 0
    const timer = setInterval(() => {
      const now = performance.now()
      worst = Math.max(worst, now - last)
      last = now
    }, 5)
    const started = performance.now()
    await work()
    const took = performance.now() - started
    await new Promise((r) => setTimeout(r, 20))
    clearInterval(timer)
    return { took, worst }
  }
  const threaded = await gaps(() => checker.check('big.yaml', text))
  const inline = await gaps(() => checkConfigText('big.yaml', text))
  console.log(`1 MiB check: in its thread ${threaded.took.toFixed(0)} ms, longest main-loop gap ${threaded.worst.toFixed(0)} ms; in-process ${inline.took.toFixed(0)} ms, gap ${inline.worst.toFixed(0)} ms`)
  assert.ok(inline.worst >= inline.took * 0.9, 'in-process, the loop stalls for the whole check (the measurement works)')
  assert.ok(threaded.worst < threaded.took / 2, `the loop stalled ${threaded.worst.toFixed(0)} ms during a ${threaded.took.toFixed(0)} ms check`)
})

test('one check at a time: beyond maxQueued waiting, a check is refused as busy', async (t) => {
  const checker = new ConfigChecker({ maxQueued: 1 })
  t.after(() => checker.close())
  const [a, b, c] = await Promise.all([checker.check('a.yaml', EXAMPLE), checker.check('b.yaml', EXAMPLE), checker.check('c.yaml', EXAMPLE)])
  assert.deepStrictEqual([a.kind, b.kind, c.kind], ['answer', 'answer', 'busy'])
})

test('a check past its time is stopped and fails; the next one gets a fresh thread', async (t) => {
  const slow = new ConfigChecker({ timeoutMs: 1 })
  t.after(() => slow.close())
  const o = await slow.check('a.yaml', withKeys(256 * 1024))
  assert.deepStrictEqual(o, { kind: 'failed', error: 'the check took longer than 1 ms and was stopped' })
  const checker = new ConfigChecker()
  t.after(() => checker.close())
  assert.equal((await checker.check('a.yaml', EXAMPLE)).kind, 'answer')
})

test('a check past its memory cap is stopped and fails, the process unharmed', async (t) => {
  const checker = new ConfigChecker({ maxMemoryMb: 16 })
  t.after(() => checker.close())
  const o = await checker.check('big.yaml', withKeys(MAX_VALIDATE_BYTES))
  assert.deepStrictEqual(o, { kind: 'failed', error: 'the check ran out of memory (16 MB) and was stopped' })
})
