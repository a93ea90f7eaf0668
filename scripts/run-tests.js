#!/usr/bin/env node
// Runs every compiled test file under dist/test with Node's built-in runner.
// Node 20's `--test` has no glob support, so we collect the files ourselves.
// The integration suites start real services; when one is missing, say so once, before any test.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { missingLine, missingServices } from './services.js'

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) collect(p, out)
    else if (name.endsWith('.test.js')) out.push(p)
  }
  return out
}
const missing = missingServices()
if (missing.length) {
  console.error(missingLine(missing))
  process.exit(1)
}
const filter = process.argv.slice(2)
let files = collect('dist/test', [])
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)))
if (files.length === 0) { console.error('no test files matched'); process.exit(1) }
// TAP to the console as before, and the failures (if any) to a file printed last: CI keeps the tail.
const failuresDir = mkdtempSync(join(tmpdir(), 'switchyard-tests-'))
const failuresFile = join(failuresDir, 'failures.txt')
const r = spawnSync(process.execPath, [
  '--test', '--test-concurrency=2', '--test-timeout=120000',
  '--test-reporter=tap', '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/failures-reporter.js', `--test-reporter-destination=${failuresFile}`,
  ...files,
], { stdio: 'inherit' })
if (existsSync(failuresFile)) {
  const failures = readFileSync(failuresFile, 'utf8')
  if (failures) process.stdout.write(failures)
}
rmSync(failuresDir, { recursive: true, force: true })
process.exit(r.status ?? 1)
