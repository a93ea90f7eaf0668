// One function per section of the page: admin API answers in, DOM nodes out. Nothing here fetches.
import { badge, bytes, h, num, pct, table, when } from './dom.js'

// ---- config: version, reload state, workers ----

export function configView(cfg) {
  const last = cfg.last_reload
  const behind = cfg.workers.filter((w) => w.version !== cfg.version || w.error)
  return [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Version'), h('dd', {}, h('code', { id: 'config-version' }, cfg.version)),
      h('dt', {}, 'Source'), h('dd', {}, cfg.source),
      h('dt', {}, 'Loaded'), h('dd', {}, when(cfg.loaded_at)),
      h('dt', {}, 'Last reload'), h('dd', { id: 'last-reload' },
        last === null ? 'none since start' : last.ok ? [badge('applied', 'ok'), ' ', when(last.at)] : [badge('rejected', 'bad'), ' ', when(last.at), ` — version ${cfg.version} keeps serving`]),
      h('dt', {}, 'Workers'), h('dd', {}, behind.length === 0 ? [badge(`${cfg.workers.length} on this version`, 'ok')] : behind.map((w) => badge(`worker ${w.id}: ${w.error ?? `on ${w.version ?? 'nothing yet'}`}`, 'warn'))),
    ),
    cfg.last_error && cfg.last_error.length > 0
      ? h('div', { class: 'alert', id: 'reload-error', role: 'alert' },
        h('strong', {}, `The last reload was rejected (${cfg.last_error.length} error${cfg.last_error.length === 1 ? '' : 's'}):`),
        h('pre', {}, cfg.last_error.join('\n')))
      : null,
  ]
}

// ---- listeners and routes ----

/** `{ path: { exact: '/v1' }, methods: ['POST'] }` → `path.exact=/v1 methods=POST`. */
function flat(value, prefix = '') {
  if (value === null || typeof value !== 'object') return [`${prefix}=${value}`]
  if (Array.isArray(value)) return value.every((v) => v === null || typeof v !== 'object') ? [`${prefix}=${value.join(',')}`] : value.flatMap((v, i) => flat(v, `${prefix}[${i}]`))
  return Object.entries(value).flatMap(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k))
}

function actionOf(rule) {
  if (rule.cluster !== undefined) return ['→ ', h('strong', {}, rule.cluster)]
  if (rule.weighted_clusters) {
    const w = rule.weighted_clusters
    const total = w.clusters.reduce((n, c) => n + c.weight, 0) || 1
    return [badge('split', 'muted'), ' ', w.clusters.map((c) => `${c.name} ${Math.round((c.weight / total) * 100)} %`).join(' · '), w.hash_on ? ` (sticky by ${flat(w.hash_on).join(' ')})` : '', w.rollout ? ' (rollout)' : '']
  }
  if (rule.fallback) return [badge('fallback', 'muted'), ' ', rule.fallback.clusters.map((c) => c.cluster + (c.model_rewrite ? ` (as ${c.model_rewrite})` : '')).join(' → ')]
  if (rule.direct_response) return [badge('direct', 'muted'), ` ${rule.direct_response.status}`]
  return Object.keys(rule).filter((k) => k !== 'name' && k !== 'match').slice(0, 1)
}

export function listenersView(config) {
  const listeners = config.listeners ?? []
  const tables = config.routes ?? []
  return [
    table([['Listener'], ['Address'], ['Protocol'], ['Route table'], ['Filters']],
      listeners.map((l) => [h('strong', {}, l.name), `${l.address}:${l.port}`, l.protocol ?? '—', l.route_table, (l.filters ?? []).join(', ') || '—'])),
    tables.map((t) => h('div', { class: 'route-table' },
      h('h3', {}, `Route table `, h('code', {}, t.name)),
      table([['#', 'num'], ['Rule'], ['Match'], ['Action']],
        (t.rules ?? []).map((r, i) => ({ attrs: { 'data-rule': r.name ?? `rules[${i}]` }, cells: [String(i), r.name ?? `rules[${i}]`, r.match ? h('code', {}, flat(r.match).join(' ')) : h('span', { class: 'muted' }, 'everything'), actionOf(r)] }))),
    )),
  ]
}

// ---- clusters and endpoints ----

function workersOf(e) {
  return Object.entries(e.workers ?? {})
}

/** One word for a person scanning the table, from the most to the least serious. */
export function endpointStatus(e) {
  if (e.health?.status === 'unhealthy') return ['unhealthy', 'bad']
  const ws = workersOf(e).map(([, w]) => w)
  if (ws.some((w) => w.outlier?.state === 'ejected')) return ['ejected', 'bad']
  if (ws.some((w) => w.breaker?.state === 'open')) return ['breaker open', 'bad']
  if (ws.some((w) => w.outlier?.state === 'cooldown')) return ['cooling down', 'warn']
  if (ws.some((w) => w.breaker?.state === 'half_open')) return ['breaker half-open', 'warn']
  if (e.health?.status === 'healthy') return ['healthy', 'ok']
  return ['serving', 'ok']
}

/** `closed` when every worker agrees, else `open on worker-1; closed on worker-2`. */
function perWorker(e, pick) {
  const values = workersOf(e).map(([id, w]) => [id, pick(w)]).filter(([, v]) => v !== undefined)
  if (values.length === 0) return '—'
  const distinct = [...new Set(values.map(([, v]) => v))]
  if (distinct.length === 1) return distinct[0]
  return distinct.map((v) => `${v} on ${values.filter(([, x]) => x === v).map(([id]) => id).join(', ')}`).join('; ')
}

function ejection(w) {
  const o = w.outlier
  if (!o) return undefined
  if (o.state === 'active') return o.ejections > 0 ? `no (ejected ${o.ejections}×)` : 'no'
  return o.ejectedUntil ? `${o.state} until ${when(o.ejectedUntil).slice(11)}` : o.state
}

function breaker(w) {
  const b = w.breaker
  if (!b) return undefined
  return b.state === 'open' && b.openUntil ? `open until ${when(b.openUntil).slice(11)}` : b.state.replace('_', '-')
}

export function clustersView(clusters) {
  const names = Object.keys(clusters)
  if (names.length === 0) return [h('p', { class: 'muted' }, 'No clusters.')]
  return names.map((name) => {
    const c = clusters[name]
    const counters = [
      c.inflight !== undefined && `${c.inflight} in flight`,
      c.active_retries !== undefined && `${c.active_retries} retrying`,
      c.overflows !== undefined && `${c.overflows} overflows`,
      c.discovery && `discovery: etcd ${c.discovery.prefix} (${c.discovery.registered ?? 0} registered)`,
    ].filter(Boolean)
    return h('div', { class: 'cluster', 'data-cluster': name },
      h('h3', {}, h('code', {}, name), ' ', h('span', { class: 'muted' }, `${c.provider} · ${c.lb}`), ' ', h('span', { class: 'counters' }, counters.join(' · '))),
      c.endpoints.length === 0 ? h('p', { class: 'muted' }, 'No endpoints (provider without endpoints, or none registered).') :
      table([['Endpoint'], ['Status'], ['Health check'], ['Breaker'], ['Ejected'], ['In flight', 'num'], ['Requests', 'num'], ['Failures', 'num'], ['Latency', 'num'], ['Weight', 'num']],
        c.endpoints.map((e) => {
          const [word, kind] = endpointStatus(e)
          const reasons = [...new Set(workersOf(e).flatMap(([, w]) => w.reasons ?? []))]
          return {
            attrs: { 'data-endpoint': e.url, class: kind === 'bad' ? 'row-bad' : kind === 'warn' ? 'row-warn' : '' },
            cells: [
              h('code', {}, e.url),
              [badge(word, kind), reasons.length ? h('span', { class: 'muted' }, ` skipped: ${reasons.join(', ')}`) : null],
              e.health ? [e.health.status, e.health.lastError ? h('div', { class: 'muted small' }, e.health.lastError) : null] : h('span', { class: 'muted' }, 'off'),
              perWorker(e, breaker),
              perWorker(e, ejection),
              num(e.inflight), num(e.requests), num(e.failures),
              e.latency_ewma_ms !== undefined ? num(e.latency_ewma_ms, ' ms') : '—',
              num(e.weight),
            ],
          }
        })),
    )
  })
}

// ---- experiments ----

export function experimentsView(ex) {
  if (!ex.metrics_enabled) return [h('p', { class: 'muted' }, 'Metrics are off (telemetry.metrics.enabled: false): variants are not counted.')]
  if (ex.experiments.length === 0) return [h('p', { class: 'muted' }, 'No experiments: a rule with weighted_clusters is one.')]
  return ex.experiments.map((x) => h('div', { class: 'experiment', 'data-experiment': x.name },
    h('h3', {}, h('code', {}, x.name), ' ', h('span', { class: 'muted' }, `route table ${x.route_table} · ${x.hash_on ? `sticky by ${x.hash_on}` : 'random split'} · ${x.requests} requests`)),
    table([['Variant'], ['Weight', 'num'], ['Configured', 'num'], ['Observed', 'num'], ['Requests', 'num'], ['Errors', 'num'], ['p50', 'num'], ['p95', 'num'], ['TTFT p50', 'num'], ['Tokens in / out', 'num'], ['Distinct keys', 'num']],
      x.variants.map((v) => [
        h('strong', {}, v.variant),
        v.effective_weight !== undefined ? `${v.weight} (now ${v.effective_weight})` : num(v.weight),
        pct(v.configured_share), pct(v.observed_share), num(v.requests),
        `${v.errors}${v.error_rate !== null ? ` (${pct(v.error_rate)})` : ''}`,
        num(v.latency_p50_ms, ' ms'), num(v.latency_p95_ms, ' ms'), num(v.ttft_p50_ms, ' ms'),
        `${v.input_tokens} / ${v.output_tokens}`,
        v.distinct_keys !== undefined ? num(v.distinct_keys) : '—',
      ])),
  ))
}

// ---- tenants ----

function standing(u) {
  if (u.error) return [[`${u.filter}/${u.limit}`, '—', h('span', { class: 'bad-text' }, u.error), '—']]
  if (!u.standing) return [[`${u.filter}/${u.limit}`, `one bucket per ${u.keyed_by.join(' + ')}`, '—', '—']]
  return u.standing.map((s) => [`${u.filter}/${u.limit}`, s.rule, meter(s.remaining, s.limit), s.reset_ms > 0 ? `${s.reset_ms} ms` : 'full'])
}

function meter(remaining, limit) {
  const used = limit > 0 ? Math.min(1, Math.max(0, (limit - remaining) / limit)) : 0
  return h('span', { class: 'meter-cell' }, h('meter', { min: 0, max: 1, value: used.toFixed(3), low: 0.7, high: 0.9, optimum: 0 }), ` ${remaining} of ${limit} left`)
}

function spendRows(spend) {
  if (!spend) return []
  if (spend.error) return [['spend', '—', spend.error, '—']]
  return [...(spend.tenant ?? []), ...(spend.key ?? [])].map((l) => [`budget (${l.period})`, l.window ?? '—', l.budget !== null ? meter(l.remaining, l.budget) : `${l.spent} spent`, '—'])
}

/** `tenants`: /tenants; `usage`: name → /tenants/<name> (or an Error). */
export function tenantsView(tenants, usage, shownMax) {
  const list = tenants.tenants
  if (list.length === 0) return [h('p', { class: 'muted' }, 'No tenants in this config.')]
  return [
    list.length > shownMax ? h('p', { class: 'muted' }, `Usage of the first ${shownMax} of ${list.length} tenants; the others: GET /tenants/<name>.`) : null,
    list.map((t) => {
      const u = usage.get(t.name)
      const rows = u instanceof Error ? [['—', '—', u.message, '—']] : u ? [...u.usage.flatMap(standing), ...spendRows(u.spend)] : []
      return h('div', { class: 'tenant', 'data-tenant': t.name },
        h('h3', {}, h('code', {}, t.name), ' ', h('span', { class: 'muted' }, [
          Object.entries(t.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(' '),
          `${t.keys} key${t.keys === 1 ? '' : 's'}`,
          t.models ? `models ${t.models.join(', ')}` : 'all models',
        ].filter(Boolean).join(' · '))),
        rows.length ? table([['Limit'], ['Rule'], ['Standing'], ['Refills in']], rows) : h('p', { class: 'muted' }, u ? 'No limits apply.' : '…'),
      )
    }),
  ]
}

// ---- cache ----

export function cacheView(c) {
  if (!c || c.routes === undefined) return [h('p', { class: 'muted' }, 'No cache filter in this config.')]
  const routes = Object.entries(c.routes)
  return [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Entries'), h('dd', { id: 'cache-entries' }, num(c.entries)),
      h('dt', {}, 'Size'), h('dd', {}, bytes(c.bytes)),
      h('dt', {}, 'Evictions'), h('dd', {}, num(c.evictions)),
      h('dt', {}, 'Filling now'), h('dd', {}, num(c.inFlight)),
      c.tiers?.redis && (c.tiers.redis.hits + c.tiers.redis.misses + c.tiers.redis.writes > 0 || c.tiers.redis.failures > 0)
        ? [h('dt', {}, 'Redis tier'), h('dd', {}, `${c.tiers.redis.hits} hits · ${c.tiers.redis.misses} misses · ${c.tiers.redis.writes} writes · ${c.tiers.redis.failures} failures`)]
        : null,
    ),
    routes.length === 0 ? h('p', { class: 'muted' }, 'No route has used the cache yet.') :
    table([['Route'], ['Hit', 'num'], ['Miss', 'num'], ['Bypass', 'num'], ['Refresh', 'num'], ['Stored', 'num'], ['Hit rate', 'num']],
      routes.map(([name, r]) => [h('code', {}, name), num(r.hit), num(r.miss), num(r.bypass), num(r.refresh), num(r.stored), r.hit + r.miss > 0 ? pct(r.hit / (r.hit + r.miss)) : '—'])),
  ]
}

// ---- reloads ----

function changeSummary(c) {
  const part = (sign, ids) => ids.map((id) => `${sign}${id}`)
  const all = [...part('+', c.added), ...part('-', c.removed), ...part('~', c.modified)]
  return all.length === 0 ? 'no object changed' : all.length > 6 ? `${all.slice(0, 6).join(' ')} … (${all.length} objects)` : all.join(' ')
}

export function historyView(history, selected, onSelect) {
  if (history.length === 0) return [h('p', { class: 'muted' }, 'Nothing applied yet.')]
  return [h('ol', { class: 'history' }, history.map((e, i) => h('li', { class: e.version === selected ? 'selected' : '', 'data-version': e.version },
    h('button', { type: 'button', onclick: () => onSelect(e.version), 'aria-pressed': e.version === selected ? 'true' : 'false' }, i === history.length - 1 ? 'show' : 'diff'),
    ' ', h('code', {}, e.version), ' ', h('span', { class: 'muted' }, `${when(e.applied_at)} · ${e.source}${e.pushed?.user ? ` · by ${e.pushed.user}@${e.pushed.host ?? '?'}` : ''}`),
    e.pushed?.message ? h('div', { class: 'small' }, `“${e.pushed.message}”`) : null,
    h('div', { class: 'small' }, changeSummary(e.changes)),
  )))]
}

/** The per-object diff of version `to` against `from` (undefined: the first version applied). */
export function diffView(from, to, changes) {
  return [
    h('h3', {}, from ? [h('code', {}, from), ' → ', h('code', {}, to)] : ['First applied: ', h('code', {}, to)]),
    changes.length === 0 ? h('p', { class: 'muted' }, 'No object changed.') : changes.map((c) => h('details', { open: changes.length <= 4 || c.sign === '~', class: 'diff-object' },
      h('summary', {}, h('code', {}, `${c.sign} ${c.id}`)),
      h('pre', { class: 'diff' }, c.lines.map((l) => h('span', { class: l[0] === '+' ? 'add' : l[0] === '-' ? 'del' : 'same' }, l + '\n'))),
    )),
  ]
}

// ---- validator ----

export function validateView(r, onLocate) {
  if (r.ok) {
    return [
      h('p', { class: 'ok-text', role: 'status' }, badge('valid', 'ok'), ' ', r.summary),
      r.warnings.map((w) => h('p', { class: 'warn-text' }, `warning: ${w}`)),
      r.needs.env.length || r.needs.files.length ? h('p', { class: 'muted' }, `needs: ${[...r.needs.env.map((e) => `env ${e}`), ...r.needs.files.map((f) => `file ${f}`)].join(', ')} (not read here)`) : null,
    ]
  }
  return [
    h('p', { role: 'alert' }, badge('invalid', 'bad'), ` ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}; nothing was applied`),
    h('ul', { class: 'errors' }, r.diagnostics.map((d, i) => h('li', {},
      h('button', { type: 'button', class: 'link', title: 'show in the editor', onclick: () => onLocate(d.line, d.col) }, r.errors[i]),
      h('span', { class: 'muted small' }, ` ${d.code}`),
    ))),
  ]
}
