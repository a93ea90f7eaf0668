/**
 * The service binaries the suites start and their Debian packages: a typed view of
 * services.json, the one list that scripts/run-tests.js checks and scripts/setup-services.js installs.
 */
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
