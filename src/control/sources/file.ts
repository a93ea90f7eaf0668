/**
 * File/directory config source: chokidar watch with a short debounce. Editors save in bursts
 * (write, rename, chmod); we reload once after the burst.
 */
import { watch, type FSWatcher } from 'chokidar'
import { readPathSources } from '../../compiler/read-sources.js'
import type { ConfigSource } from './source.js'

export function createFileSource(path: string, debounceMs = 50): ConfigSource {
  let watcher: FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  // Files the config reads besides its sources (WASM and plugin modules): an edit to one is a config change too.
  let extra = new Set<string>()
  return {
    description: `file:${path}`,
    load: async () => ({ sources: readPathSources(path) }),
    watch(onChange) {
      // atomic: editors that save via temp file + rename still count as a change of `path`.
      watcher = watch([path, ...extra], { ignoreInitial: true, atomic: true })
      watcher.on('all', () => {
        if (timer) clearTimeout(timer)
        timer = setTimeout(onChange, debounceMs)
      })
    },
    watchFiles(paths) {
      const next = new Set(paths)
      if (watcher !== undefined) {
        const added = [...next].filter((f) => !extra.has(f))
        const gone = [...extra].filter((f) => !next.has(f) && f !== path)
        if (added.length > 0) watcher.add(added)
        if (gone.length > 0) watcher.unwatch(gone)
      }
      extra = next
    },
    async close() {
      if (timer) clearTimeout(timer)
      await watcher?.close()
    },
  }
}
