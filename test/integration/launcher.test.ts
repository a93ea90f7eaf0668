/**
 * The `switchyard` command as a user runs it (bin/switchyard.js executed, not `node bin/switchyard.js`):
 * its sh prelude sets glibc's malloc tunables before node starts, keeps values the user set, and sets
 * none with SWITCHYARD_MALLOC_TUNING=0. Checked in the running gateway's own environment (/proc/<pid>/environ:
 * the launcher execs node, so the pid is the gateway's).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, eventually } from '../support/gateway-process.js'
import { freePort } from '../support/ports.js'

const TUNABLES = ['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_'] as const

async function launchedEnv(env: Record<string, string>): Promise<{ vars: Map<string, string>; command: string }> {
  const [admin, port] = [await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'sy-launcher-'))
  const file = join(dir, 'gateway.yaml')
  writeFileSync(file, `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes: [{ name: main, rules: [{ cluster: up }] }]
clusters: [{ name: up, provider: openai, endpoints: [{ url: "http://127.0.0.1:9" }] }]
`)
  const base = { ...process.env }
  for (const k of [...TUNABLES, 'SWITCHYARD_MALLOC_TUNING']) delete base[k]
  const child = spawn(BIN, ['run', '-c', file, '--workers', '1'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  try {
    await eventually(async () => (await fetch(`http://127.0.0.1:${admin}/ready`).catch(() => undefined))?.status === 200, undefined, `the gateway to be ready:\n${out}`)
    const vars = new Map<string, string>()
    for (const entry of readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=')
      if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1))
    }
    const command = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').join(' ')
    return { vars, command }
  } finally {
    child.kill('SIGKILL')
  }
}

test('the switchyard command starts node with two malloc arenas, a 128 KiB trim threshold and no top pad', async () => {
  const { vars, command } = await launchedEnv({})
  assert.match(command, /node .*switchyard\.js run/, 'the launcher execs node on itself')
  assert.equal(vars.get('MALLOC_ARENA_MAX'), '2')
  assert.equal(vars.get('MALLOC_TRIM_THRESHOLD_'), '131072')
  assert.equal(vars.get('MALLOC_TOP_PAD_'), '0')
})

test('a tunable the user set wins over the launcher', async () => {
  const { vars } = await launchedEnv({ MALLOC_ARENA_MAX: '4' })
  assert.equal(vars.get('MALLOC_ARENA_MAX'), '4')
  assert.equal(vars.get('MALLOC_TOP_PAD_'), '0')
})

test('SWITCHYARD_MALLOC_TUNING=0 leaves malloc to glibc', async () => {
  const { vars } = await launchedEnv({ SWITCHYARD_MALLOC_TUNING: '0' })
  for (const k of TUNABLES) assert.equal(vars.has(k), false, `${k} was set`)
})
