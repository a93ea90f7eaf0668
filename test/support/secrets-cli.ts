/** Shared by the issue-13 secrets tests: a config written to a temp dir, and the CLI run on it. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { runCli, type CliResult } from './run-cli.js'

/** Writes `files` (relative path → text) into a new temp dir and returns the dir. */
export function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-secrets-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

/**
 * `switchyard <args>` as a child process in `cwd`, with `env` on top of an environment that has
 * none of the variables the tests reference (whatever the machine running them has set).
 */
export function switchyard(args: readonly string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('SY13_') || k === 'OPENAI_API_KEY') delete env[k]
  return runCli(args, { cwd: opts.cwd, env: { ...env, ...opts.env }, timeoutMs: opts.timeoutMs })
}

/** A minimal config around `endpoints` (YAML list items, indented 6) of one openai cluster. */
export const withEndpoints = (endpoints: string, extra = '', port = 18413) => `admin: { port: 0 }
listeners:
  - { name: api, address: 127.0.0.1, port: ${port}, route_table: main }
routes:
  - name: main
    rules: [{ cluster: openai }]
clusters:
  - name: openai
    provider: openai
    endpoints:
${endpoints}
${extra}`
