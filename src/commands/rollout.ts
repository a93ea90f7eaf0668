/**
 * `switchyard rollout status | pause | resume | abort`: a running gateway's progressive canaries
 * through its admin API (GET /rollouts, POST /rollouts/<table>/<rule>/<command>). The decisions
 * are the gateway's (control/rollouts.ts); this only asks and prints. With etcd, a command sent to
 * one host is stored under the prefix and every host follows it.
 */
import type { RolloutStatus } from '../control/rollouts.js'
import type { WindowNumbers } from '../control/rollout-guards.js'

type Answer = { ok: true; body: unknown } | { ok: false; message: string }

async function admin(base: string, path: string, method: 'GET' | 'POST'): Promise<Answer> {
  const url = new URL(path, base)
  const token = process.env.SWITCHYARD_ADMIN_TOKEN
  let res: Response
  try {
    res = await fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) })
  } catch (e) {
    return { ok: false, message: `cannot reach the admin API at ${url.origin} (${(e as Error).cause ?? (e as Error).message})` }
  }
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!res.ok) {
    const error = (body as { error?: string } | undefined)?.error ?? text.slice(0, 300)
    return { ok: false, message: `${method} ${url.pathname} answered ${res.status}${res.status === 401 ? ' (set SWITCHYARD_ADMIN_TOKEN to the admin token)' : ''}: ${error}` }
  }
  return { ok: true, body }
}

/** `which` as given (`table/rule` or a rule name), or the only rollout. */
function choose(all: readonly RolloutStatus[], which: string | undefined): RolloutStatus | string {
  if (which === undefined) {
    if (all.length === 1) return all[0]
    return all.length === 0 ? 'the gateway has no rollouts (no weighted_clusters rule declares rollout:)' : `the gateway has ${all.length} rollouts; name one: ${all.map((r) => r.id).join(', ')}`
  }
  const found = all.filter((r) => r.id === which || r.rule === which)
  if (found.length === 1) return found[0]
  return found.length === 0 ? `no rollout '${which}' (known: ${all.map((r) => r.id).join(', ') || 'none'})` : `'${which}' names ${found.length} rollouts; give <table>/<rule>: ${found.map((r) => r.id).join(', ')}`
}

async function list(base: string): Promise<RolloutStatus[] | string> {
  const r = await admin(base, '/rollouts', 'GET')
  return r.ok ? (r.body as { rollouts: RolloutStatus[] }).rollouts : r.message
}

export async function rolloutStatus(base: string, which: string | undefined, json: boolean): Promise<number> {
  const all = await list(base)
  if (typeof all === 'string') return fail('status', all)
  const shown = which === undefined ? all : choose(all, which)
  if (typeof shown === 'string') return fail('status', shown)
  const rows = Array.isArray(shown) ? shown : [shown]
  if (json) console.log(JSON.stringify(Array.isArray(shown) ? { rollouts: rows } : shown, null, 2))
  else console.log(rows.length === 0 ? 'no rollouts: no weighted_clusters rule declares rollout:' : rows.map(formatRollout).join('\n\n'))
  return 0
}

export async function rolloutCommand(base: string, command: 'pause' | 'resume' | 'abort', which: string | undefined): Promise<number> {
  const all = await list(base)
  if (typeof all === 'string') return fail(command, all)
  const target = choose(all, which)
  if (typeof target === 'string') return fail(command, target)
  const r = await admin(base, `/rollouts/${encodeURIComponent(target.route_table)}/${encodeURIComponent(target.rule)}/${command}`, 'POST')
  if (!r.ok) return fail(command, r.message)
  console.log(formatRollout(r.body as RolloutStatus))
  return 0
}

function fail(command: string, message: string): number {
  console.error(`switchyard rollout ${command}: ${message}`)
  return 1
}

/** What `rollout status` prints for one rollout. */
export function formatRollout(r: RolloutStatus): string {
  const weights = (w: Record<string, number>) => Object.entries(w).map(([k, v]) => `${k} ${v}`).join(', ')
  const steps = r.steps.map((s, i) => (i === r.step && (r.state === 'running' || r.state === 'paused') ? `[${s}]` : String(s))).join(' → ')
  const out = [
    `rollout ${r.id}: ${r.candidate} over ${r.baseline}, ${r.state.replace('_', ' ')} at ${r.share_percent}%`,
    `  steps      ${steps} (% of the pair, ${r.step_duration_ms / 1000} s each)${r.step_elapsed_ms !== null ? `; this step held ${(r.step_elapsed_ms / 1000).toFixed(1)} s` : ''}`,
    `  weights    configured ${weights(r.configured_weights)}; effective ${weights(r.effective_weights)}`,
  ]
  if (r.shared) out.push(`  shared     ${r.shared.key} (revision ${r.shared.revision ?? '-'}, run ${r.shared.run}${r.shared.stored ? '' : ', a decision of this host not stored yet'}); this host ${r.shared.host}`)
  if (r.waiting_for) out.push(`  waiting    for ${r.waiting_for}`)
  if (r.window) out.push(`  window     candidate ${numbers(r.window.candidate)}`, `             baseline  ${numbers(r.window.baseline)}`)
  if (r.decisions.length) {
    out.push('  decisions')
    for (const d of r.decisions) out.push(`    ${d.at}  ${d.event} → ${d.share_percent}%${d.reason ? `: ${d.reason}` : ''}${d.host ? `  (${d.host})` : ''}`)
  }
  return out.join('\n')
}

function numbers(n: WindowNumbers): string {
  const ms = (x: number | null) => (x === null ? '-' : `${x} ms`)
  return `${n.requests} requests, ${n.errors} errors (${n.error_rate === null ? '-' : `${(n.error_rate * 100).toFixed(1)}%`}), p95 ${ms(n.latency_p95_ms)}, ttft p95 ${ms(n.ttft_p95_ms)}`
}
