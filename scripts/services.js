// The service binaries the suites need (test/support/services.json), and which of them PATH lacks.
// Shared by run-tests.js (fail at once when one is missing) and setup-services.js (install them).
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** @type {{ binary: string, package: string, why: string }[]} */
export const SERVICES = JSON.parse(readFileSync(new URL('../test/support/services.json', import.meta.url), 'utf8')).services

/** True when `name` is an executable file in one of PATH's directories (as spawn would find it). */
export function onPath(name, path = process.env.PATH ?? '') {
  return path.split(delimiter).some((dir) => {
    if (!dir) return false
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

export function missingServices(path = process.env.PATH ?? '') {
  return SERVICES.filter((s) => !onPath(s.binary, path))
}

/** One line for all of them, e.g. missing service binary 'etcd' (Debian package etcd-server): … */
export function missingLine(missing) {
  const many = missing.length > 1
  const bins = missing.map((s) => `'${s.binary}'`).join(', ')
  const pkgs = [...new Set(missing.map((s) => s.package))].join(' ')
  return `missing service binar${many ? 'ies' : 'y'} ${bins} (Debian package${many ? 's' : ''} ${pkgs.replaceAll(' ', ', ')}): run 'npm run test:ci' or 'apt-get install ${pkgs}'`
}
