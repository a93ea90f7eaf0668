/**
 * `type: plugin` filters: the module named in `config.module` (a path relative to the config file,
 * or a package name resolved from there) becomes a `file:` URL with the file's content hash, so an
 * edited module is a new config version and a new import (runtime/plugins/js/modules.ts). Its
 * options are checked against the schema the module exports, at their place in the config.
 *
 * The compiler cannot import a module itself (imports are asynchronous; compiling is not, and it
 * never loads runtime code): it asks `plugins` (CompileOptions.plugins) what the module at that
 * URL exports. A URL it has not loaded yet is listed in `pluginsToLoad`; the caller imports those
 * and compiles again (control/compile-plugins.ts).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ResolveContext } from './context.js'
import { below, type LocatedValue } from './positions.js'
import { pluginOptionsValidator, validateAt } from '../validate.js'

type Obj = Record<string, unknown>

/** The plugin filter's IR config `{ module: <file URL?v=hash>, options, name }`, or undefined after reporting why not. */
export function resolvePluginFilter(name: string, f: LocatedValue<Obj>, ctx: ResolveContext): Obj | undefined {
  const cfg = (f.value.config ?? {}) as Obj
  const spec = String(cfg.module)
  const at = below(f, 'config', 'module')
  const file = locateModule(spec, f.doc.baseDir)
  if (typeof file !== 'string') {
    ctx.report('SY_CFG_PLUGIN', at, `plugin '${name}': ${file.problem}`)
    return undefined
  }
  ctx.files.push(file) // watched: an edit to the module is a config change, even while this compile fails
  let hash: string
  try {
    hash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16)
  } catch (e) {
    ctx.report('SY_CFG_PLUGIN', at, `plugin '${name}': cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    return undefined
  }
  const url = `${pathToFileURL(file).href}?v=${hash}`
  const optionsAt = below(f, 'config', 'options')
  const options = ctx.secrets.deep((cfg.options ?? {}) as Obj, optionsAt) as Obj
  const lookup = ctx.plugins
  if (lookup !== undefined) {
    const facts = lookup(url)
    if (facts === undefined) {
      // Reported too, so a caller that does not load modules never serves this IR.
      ctx.pluginsToLoad.push(url)
      ctx.report('SY_CFG_PLUGIN', at, `plugin '${name}': module not loaded yet`)
    }
    else if (!facts.ok) ctx.report('SY_CFG_PLUGIN', at, `plugin '${name}': ${facts.message}`)
    else if (facts.schema !== undefined) {
      const v = pluginOptionsValidator(url, facts.schema)
      if (typeof v === 'string') ctx.report('SY_CFG_PLUGIN', at, `plugin '${name}': its options schema does not compile: ${v}`)
      else validateAt(v, options, f.doc, [...f.at, 'config', 'options'], ctx.diags)
    }
  }
  return { module: url, options, name }
}

/** The module's absolute file: a path (relative to the config file's directory) or a package name. */
function locateModule(spec: string, baseDir: string): string | { problem: string } {
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const file = resolve(baseDir, spec)
    return existsSync(file) ? file : { problem: `module not found: ${file}` }
  }
  try {
    return createRequire(join(baseDir, 'noop.js')).resolve(spec)
  } catch (e) {
    return { problem: `package '${spec}' cannot be resolved from ${baseDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }
  }
}
