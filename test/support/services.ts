/**
 * The service binaries the suites start and their Debian packages: a typed view of
 * services.json, the one list that scripts/run-tests.js checks and scripts/setup-services.js installs.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './repo-root.js'

export interface Service {
  readonly binary: string
  /** The Debian package that ships `binary`. */
  readonly package: string
  /** What the suites use it for (setup-services prints it). */
  readonly why: string
}

export const SERVICES: readonly Service[] = (JSON.parse(readFileSync(join(repoRoot, 'test', 'support', 'services.json'), 'utf8')) as { services: Service[] }).services

/**
 * The command to run for one of SERVICES: `$<envVar>` or the binary's own name. Throws, naming the
 * Debian package to install, when it does not run (in CI a missing service fails, never skips).
 */
export function serviceBinary(binary: string, envVar: string): string {
  const bin = process.env[envVar] ?? binary
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) {
    const pkg = SERVICES.find((s) => s.binary === binary)?.package ?? binary
    throw new Error(`${binary} binary '${bin}' not found or not runnable (${r.error?.message ?? r.stderr}); install Debian's ${pkg} (apt-get install ${pkg}; npm run test:ci does this) or set ${envVar}`)
  }
  return bin
}
