/**
 * A compile that can check plugin filters: the compiler asks what each plugin module exports
 * (its options schema) by content-hashed URL, and a module not imported yet comes back in
 * `pluginsToLoad`. Those are imported here (the same import a worker makes before its build)
 * and the config compiled once more, now with every module known. Main thread only.
 */
import { compileConfig, type CompileOptions, type CompileResult, type SourceText } from '../compiler/index.js'
import { describePluginModule, loadPluginModules } from '../runtime/plugins/js/modules.js'

export async function compileWithPlugins(sources: readonly SourceText[], opts: CompileOptions): Promise<CompileResult> {
  const withPlugins: CompileOptions = { ...opts, plugins: describePluginModule }
  const first = compileConfig(sources, withPlugins)
  if (first.ok || first.pluginsToLoad === undefined) return first
  await loadPluginModules(first.pluginsToLoad)
  return compileConfig(sources, withPlugins)
}
