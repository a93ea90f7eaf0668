/**
 * Issue 13, tests on a fresh machine: `npm test` with a service binary missing stops at once with
 * one line naming its Debian package, before any test; `npm run test:ci` (what .ci/run calls
 * after `npm ci`) installs the missing packages first, saying what each is for.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../support/repo-root.js'
import { SERVICES } from '../support/services.js'

/** A PATH holding a stand-in for every service binary except `without`. */
function pathWithout(without: readonly string[], t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-path-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const s of SERVICES) {
    if (without.includes(s.binary)) continue
    writeFileSync(join(dir, s.binary), '#!/bin/sh\nexit 0\n')
    chmodSync(join(dir, s.binary), 0o755)
  }
  return dir
}

function runScript(script: string, args: string[], PATH: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Without NODE_TEST_CONTEXT, a test runner started from here runs its files instead of deferring to ours.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', script), ...args], { cwd: repoRoot, env: { ...env, PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })))
  })
}

test('the service list names etcd, etcdctl, redis-server, nginx, wrk, chromium, prometheus and nats-server with their Debian packages', () => {
  assert.deepStrictEqual(
    Object.fromEntries(SERVICES.map((s) => [s.binary, s.package])),
    { 'redis-server': 'redis-server', etcd: 'etcd-server', etcdctl: 'etcd-client', nginx: 'nginx', wrk: 'wrk', chromium: 'chromium', prometheus: 'prometheus', 'nats-server': 'nats-server' },
  )
})

test('run-tests with etcd missing fails at once with one line naming the package, running no test', async (t) => {
  const r = await runScript('run-tests.js', ['test/commands/flags.test'], pathWithout(['etcd'], t))
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.equal(r.stdout, '')
  assert.equal(r.stderr, "missing service binary 'etcd' (Debian package etcd-server): run 'npm run test:ci' or 'apt-get install etcd-server'\n")
})

test('two missing binaries are still one line', async (t) => {
  const r = await runScript('run-tests.js', ['test/commands/flags.test'], pathWithout(['etcd', 'wrk'], t))
  assert.equal(r.code, 1)
  assert.equal(r.stderr, "missing service binaries 'etcd', 'wrk' (Debian packages etcd-server, wrk): run 'npm run test:ci' or 'apt-get install etcd-server wrk'\n")
})

test('setup-services says which packages it installs and why', async (t) => {
  const r = await runScript('setup-services.js', ['--dry-run'], pathWithout(['etcd', 'etcdctl'], t))
  assert.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trimEnd().split('\n')
  assert.equal(lines.length, 2, r.stdout)
  assert.match(lines[0], /^setup-services: would install etcd-server \(etcd: .{10,}\)$/)
  assert.match(lines[1], /^setup-services: would install etcd-client \(etcdctl: .{10,}\)$/)
  const all = await runScript('setup-services.js', ['--dry-run'], pathWithout([], t))
  assert.equal(all.stdout, `setup-services: all present: ${SERVICES.map((s) => s.binary).join(', ')}\n`)
})

test('npm run test:ci = set-up + npm test, and .ci/run calls npm ci then npm run test:ci', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  assert.equal(pkg.scripts['test:ci'], 'node scripts/setup-services.js && npm test')
  const steps = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8').split('\n').filter((l) => /^\s*(npm|apt-get)\b/.test(l)).map((l) => l.trim())
  assert.deepStrictEqual(steps, ['npm ci --no-audit --no-fund', 'npm run test:ci'])
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  assert.match(readme, /## Tests[\s\S]*npm ci && npm run test:ci/)
})
