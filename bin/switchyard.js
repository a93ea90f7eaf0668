#!/usr/bin/env node
import { existsSync } from 'node:fs'

// The CLI is compiled TypeScript; a git checkout has no dist/ until it is built.
if (!existsSync(new URL('../dist/src/cli.js', import.meta.url))) {
  console.error("switchyard: dist/ is missing; run 'npm run build' (npm install also builds)")
  process.exit(1)
}
// First, before the compiler's modules load: the process's V8 flags (src/control/worker-options.ts says which and why).
await import('../dist/src/control/worker-options.js')
const { main } = await import('../dist/src/cli.js')
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? String(err))
    process.exit(1)
  },
)
