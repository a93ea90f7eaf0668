/**
 * `switchyard validate -c <file|dir> [--resolve-secrets]`: compile the config as `run` would and
 * print one summary line, or every diagnostic. Secret references are checked and listed, and read
 * only with --resolve-secrets.
 */
import { compilePathWithPlugins, describeNeeds } from './compile-path.js'
import type { Parsed } from './flags.js'
import type { VALIDATE } from './specs.js'

export async function validate({ values }: Parsed<typeof VALIDATE>): Promise<number> {
  const path = values.config!
  const resolve = values['resolve-secrets']
  const compiled = await compilePathWithPlugins(path, '', resolve ? 'resolve' : 'collect')
  if (!compiled) return 1
  const { ir, needs } = compiled
  for (const w of ir.warnings) console.error(`warning: ${w}`)
  const rules = ir.routeTables.reduce((n, t) => n + t.rules.length, 0)
  console.log(`${path}: ok (version ${ir.version}): ${ir.listeners.length} listeners, ${ir.routeTables.length} route tables (${rules} rules), ${ir.clusters.length} clusters, ${ir.filters.length} filters${describeNeeds(needs, resolve)}`)
  return 0
}
