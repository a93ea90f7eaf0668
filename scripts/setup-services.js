#!/usr/bin/env node
// Installs the Debian packages of the service binaries the suites start (test/support/services.json)
// that this machine lacks, saying what each is for. `npm run test:ci` runs it before `npm test`.
//   --dry-run   only say what would be installed
import { spawnSync } from 'node:child_process'
import { missingServices, missingLine, onPath, SERVICES } from './services.js'

const dryRun = process.argv.includes('--dry-run')
const say = (line) => console.log(`setup-services: ${line}`)

const missing = missingServices()
if (missing.length === 0) {
  say(`all present: ${SERVICES.map((s) => s.binary).join(', ')}`)
  process.exit(0)
}
for (const s of missing) say(`${dryRun ? 'would install' : 'installing'} ${s.package} (${s.binary}: ${s.why})`)
if (dryRun) process.exit(0)

const packages = [...new Set(missing.map((s) => s.package))]
if (!onPath('apt-get')) {
  say(`apt-get not found: install ${packages.join(', ')} with this system's package manager`)
  process.exit(1)
}
const root = process.getuid?.() === 0
if (!root && !onPath('sudo')) {
  say(`not root and no sudo: run 'apt-get install ${packages.join(' ')}' as root`)
  process.exit(1)
}
const apt = (...args) => {
  const cmd = root ? ['apt-get', ...args] : ['sudo', 'apt-get', ...args]
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['inherit', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  if (r.status !== 0) {
    say(`'${cmd.join(' ')}' failed (${r.error?.message ?? `exit ${r.status}`})`)
    process.exit(1)
  }
}
apt('update', '-qq')
apt('install', '-y', '-qq', '--no-install-recommends', ...packages)
const still = missingServices()
if (still.length) {
  say(`installed, yet ${missingLine(still)}`)
  process.exit(1)
}
say(`installed ${packages.join(', ')}`)
