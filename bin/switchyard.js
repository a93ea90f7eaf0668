#!/bin/sh
":" //; [ "$SWITCHYARD_MALLOC_TUNING" = 0 ] || export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-131072}" MALLOC_TOP_PAD_="${MALLOC_TOP_PAD_:-0}"
":" //; exec node "$0" "$@"
// The two lines above are for sh, which runs this file when it is executed as `switchyard`: they set glibc's
// malloc tunables, which glibc reads only when a process starts, and then run this same file with node (to
// JavaScript they are a string and a comment). Why: every thread that allocates gets a malloc arena of its own
// (up to 8 per core), and a gateway's threads (workers, export threads, V8's and libuv's) left ≈22 MB of
// arenas, mostly free pages; two arenas, trimming above 128 KiB and no top pad keep the process ≈10 MB smaller
// at no measured CPU cost (bench/SOAK.md). A value already set wins; SWITCHYARD_MALLOC_TUNING=0 sets none.
// `node bin/switchyard.js` skips them (musl and other libcs ignore them).
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
