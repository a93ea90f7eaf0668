/**
 * `switchyard models list|show`: the model registry of a config (--config, compiled as `validate`
 * does, secrets not read) or of a running gateway (--admin: GET /models, GET /models/<name>). Both
 * print the same view (control/admin/models.ts), as a table, as text, or as JSON.
 */
import { compilePathReporting } from './compile-path.js'
import { describeModels, findModel, type ModelView } from '../control/admin/models.js'

export interface ModelsSource {
  readonly config?: string
  readonly admin: string
}

export async function modelsCommand(action: 'list' | 'show', source: ModelsSource, json: boolean, name?: string): Promise<number> {
  const views = source.config !== undefined ? fromConfig(source.config) : await fromAdmin(source.admin)
  if (views === undefined) return 1
  if (action === 'list') {
    console.log(json ? JSON.stringify({ models: views }, null, 2) : formatModelList(views))
    return 0
  }
  const found = findModel(views, name!)
  if (found === undefined) {
    console.error(`switchyard models show: no model or alias '${name}' in the registry (${views.map((v) => v.name).join(', ') || 'none configured'})`)
    return 1
  }
  console.log(json ? JSON.stringify(found, null, 2) : formatModel(found))
  return 0
}

function fromConfig(path: string): ModelView[] | undefined {
  const compiled = compilePathReporting(path, '', 'collect')
  return compiled && describeModels(compiled.ir, Date.now()).models
}

async function fromAdmin(admin: string): Promise<ModelView[] | undefined> {
  const url = new URL('/models', admin)
  const token = process.env.SWITCHYARD_ADMIN_TOKEN
  let res: Response
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) })
  } catch (e) {
    console.error(`switchyard models: cannot reach the admin API at ${url.origin} (${(e as Error).cause ?? (e as Error).message})`)
    return undefined
  }
  const text = await res.text()
  if (!res.ok) {
    console.error(`switchyard models: ${url} answered ${res.status}${res.status === 401 ? ' (set SWITCHYARD_ADMIN_TOKEN to the admin token)' : ''}: ${text.slice(0, 300)}`)
    return undefined
  }
  return (JSON.parse(text) as { models: ModelView[] }).models
}

const CAPABILITIES = ['tools', 'vision', 'json_mode', 'reasoning', 'streaming'] as const

/** One row per model: name, aliases, context, max output, capabilities it lacks, prices, lifecycle. */
export function formatModelList(views: readonly ModelView[]): string {
  if (views.length === 0) return 'no models: the config has no models: section'
  const rows = [['model', 'aliases', 'context', 'max out', 'lacks', 'price in/out per 1M', 'status']]
  for (const v of views) {
    const lacks = CAPABILITIES.filter((c) => v.capabilities[c] === false)
    rows.push([
      v.name,
      v.aliases.join(', ') || '-',
      v.context_window !== undefined ? String(v.context_window) : '-',
      v.max_output_tokens !== undefined ? String(v.max_output_tokens) : '-',
      lacks.join(', ') || '-',
      v.pricing ? `${v.pricing.input}/${v.pricing.output}` : '-',
      lifecycle(v),
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

/** Every field of one model, one per line. */
export function formatModel(v: ModelView): string {
  const ids = Object.entries(v.provider_ids)
  const listed = Object.entries(v.listeners)
  const lines = [
    `model ${v.name}`,
    `  aliases            ${v.aliases.join(', ') || '-'}`,
    `  provider ids       ${ids.map(([c, id]) => `${c}: ${id}`).join(', ') || '- (every cluster gets the name)'}`,
    `  context window     ${v.context_window ?? '- (not checked)'}`,
    `  max output tokens  ${v.max_output_tokens ?? '- (not checked)'}`,
    `  capabilities       ${CAPABILITIES.map((c) => `${c} ${v.capabilities[c] ? 'yes' : 'no'}`).join(', ')}`,
    `  prices per 1M      ${v.pricing ? `input ${v.pricing.input}, output ${v.pricing.output}, cached input ${v.pricing.cached_input}` : '- (the prices table, if it matches)'}`,
    `  lifecycle          ${lifecycle(v)}`,
    `  listed by          ${listed.map(([l, c]) => `${l} (via ${c})`).join(', ') || '- (no listener routes it)'}`,
  ]
  if (v.owned_by !== undefined) lines.splice(3, 0, `  owned by           ${v.owned_by}`)
  return lines.join('\n')
}

function lifecycle(v: ModelView): string {
  if (v.deprecated_at === undefined) return 'active'
  const state = v.status === 'deprecated' ? `deprecated since ${v.deprecated_at}` : `deprecated from ${v.deprecated_at}`
  if (v.replacement === undefined) return state
  return `${state} → ${v.replacement}${v.rewrite_to_replacement ? ' (rewritten)' : ''}`
}
