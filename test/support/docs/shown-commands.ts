/**
 * The `switchyard …` commands a config file's comments tell the reader to run (inside backticks or
 * to the end of the comment, with the `NAME=value` assignments written before them), and a way to
 * run one exactly as written.
 */
import { spawnSync } from 'node:child_process'
import { BIN } from '../run-cli.js'
import { repoRoot } from '../repo-root.js'

export interface Shown {
  readonly file: string
  readonly line: number
  readonly env: Record<string, string>
  readonly args: string[]
}

export function shownCommands(file: string, text: string): Shown[] {
  const out: Shown[] = []
  text.split('\n').forEach((line, i) => {
    const comment = /^\s*#(.*)$/.exec(line)?.[1]
    if (comment === undefined) return
    for (const m of comment.matchAll(/((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)(?:npx\s+)?switchyard\s+([^`#]+)/g)) {
      const env = Object.fromEntries(m[1].trim().split(/\s+/).filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]))
      out.push({ file, line: i + 1, env, args: m[2].trim().replace(/[.,;:]$/, '').split(/\s+/) })
    }
  })
  return out
}

/** Runs bin/switchyard.js with only PATH and `env`: the machine's own keys must not make it pass. */
export function runShown(args: readonly string[], env: Record<string, string>): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 })
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() }
}
