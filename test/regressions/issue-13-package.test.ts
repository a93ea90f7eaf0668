/**
 * Issue 13, package: what `npm pack` ships is enough to run. Packs this checkout, installs the
 * tarball into an empty directory the way a user would (`npm install <tarball>`, dependencies
 * from the registry or npm's cache), then runs the installed CLI: --version, validate on the
 * shipped quickstart, and run + one request with the openai SDK.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { repoRoot } from '../support/repo-root.js'
import { freePort } from '../support/ports.js'

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string }

/** The environment without what an enclosing `npm test` exported (npm_config_*, npm_package_*). */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')))

function run(cmd: string, args: string[], cwd: string, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })))
  })
}

test('npm pack ships the built CLI, schemas, examples, README and LICENSE, and no tests or sources', async () => {
  const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], repoRoot)
  assert.equal(r.code, 0, r.stderr)
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path)
  for (const f of ['bin/switchyard.js', 'dist/src/cli.js', 'dist/src/runtime/worker.js', 'schemas/switchyard.schema.json', 'examples/quickstart.yaml', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(f), `${f} not in the package`)
  }
  assert.deepStrictEqual(files.filter((f) => /^(dist\/(test|bench)|src|test|bench|scripts|node_modules)\//.test(f)), [])
  assert.match(readFileSync(join(repoRoot, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/)
})

test('the packed tarball installs into an empty directory and serves the shipped quickstart', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-pack-'))
  let gateway: ChildProcess | undefined
  t.after(() => {
    gateway?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  // --ignore-scripts: pack the dist/ this test run was built from, rather than rebuilding it
  // (prepare) underneath the other test files running now.
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], repoRoot)
  assert.equal(packed.code, 0, packed.stderr)
  const tarball = join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename)

  const app = join(dir, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  const installed = await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app, 200_000)
  assert.equal(installed.code, 0, installed.stderr)

  const version = await run('npx', ['--no', '--', 'switchyard', '--version'], app)
  assert.deepStrictEqual({ code: version.code, stdout: version.stdout }, { code: 0, stdout: `switchyard ${pkg.version}\n` }, version.stderr)

  const shipped = join(app, 'node_modules', pkg.name, 'examples', 'quickstart.yaml')
  const validated = await run('npx', ['--no', '--', 'switchyard', 'validate', shipped], app)
  assert.equal(validated.code, 0, validated.stderr)
  assert.match(validated.stdout, /: ok \(version \w+\)/)

  // The shipped quickstart on free loopback ports instead of :8080 and :9901.
  const port = await freePort()
  const adminPort = await freePort()
  const config = join(dir, 'quickstart.yaml')
  writeFileSync(config, readFileSync(shipped, 'utf8').replace('port: 8080', `port: ${port}`).replace('address: 0.0.0.0', 'address: 127.0.0.1'))
  // The installed bin itself, executed as npx executes it (its sh launcher execs node in the same process,
  // so SIGTERM still reaches the gateway).
  gateway = spawn(join(app, 'node_modules', '.bin', 'switchyard'), ['run', config, '--workers', '1', '--admin-port', String(adminPort), '--require-native'], {
    cwd: app, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  gateway.stdout!.on('data', (d) => (out += d))
  gateway.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => gateway!.once('exit', r))
  const deadline = Date.now() + 15_000
  for (;;) {
    assert.equal(gateway.exitCode, null, `gateway exited:\n${out}`)
    assert.ok(Date.now() < deadline, `gateway not ready:\n${out}`)
    const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) => r.status === 200, () => false)
    if (ready) break
    await new Promise((r) => setTimeout(r, 100))
  }

  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 })
  const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
  assert.match(reply.choices[0].message.content ?? '', /^Hello from variant [AB]\.$/)

  gateway.kill('SIGTERM')
  assert.equal(await exited, 0, out)
})
