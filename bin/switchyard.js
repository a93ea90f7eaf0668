#!/usr/bin/env node
import { existsSync } from 'node:fs'

// The CLI is compiled TypeScript; a git checkout has no dist/ until it is built.
if (!existsSync(new URL('../dist/src/cli.js', import.meta.url))) {
  console.error("switchyard: dist/ is missing; run 'npm run build' (npm install also builds)")
  process.exit(1)
}
const { main } = await import('../dist/src/cli.js')
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? String(err))
    process.exit(1)
  },
)
