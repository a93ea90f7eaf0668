/** Runs `switchyard <args>` (bin/switchyard.js) as a child process, from the repository root. */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from './repo-root.js'

export const BIN = join(repoRoot, 'bin', 'switchyard.js')

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `env` replaces the environment (default: this process's). */
export function runCli(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    // A command that should have stopped at its arguments but started serving instead.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** No stack trace, no Node error code: what a person should never see for a usage mistake. */
export function assertNoTrace(text: string): void {
  if (/^\s+at\s|TypeError|ERR_[A-Z_]+/m.test(text)) throw new Error(`output has a stack trace or Node error code:\n${text}`)
}
