// The console's wiring: sign-in, one polling loop over the admin API, the reload diff and the
// validator. Polling rather than SSE because EventSource cannot send an Authorization header, and
// the token must not travel in a URL or a cookie.
import { Unauthorized, get, token, validate } from './api.js'
import { h, show, when } from './dom.js'
import { configDiff } from './diff.js'
import * as view from './views.js'

const $ = (id) => document.getElementById(id)
const params = new URLSearchParams(location.search)
// Every poll is a few admin requests, each one audited (docs/observability.md): 5 s by default.
const POLL_MS = Math.max(250, Number(params.get('poll')) || 5000)
const TENANTS_SHOWN = 20

const state = { running: false, timer: 0, version: '', reloadAt: '', history: [], selected: '', followNewest: true }

// ---- sign-in ----

function signedOut(message) {
  state.running = false
  clearTimeout(state.timer)
  $('main').hidden = true
  $('sign-in').hidden = false
  $('sign-out').hidden = true
  show($('sign-in-error'), message ?? '')
  $('token').focus()
}

async function start() {
  try {
    await refresh()
  } catch (e) {
    if (e instanceof Unauthorized) return signedOut(token.get() ? 'The admin API refused that token (401).' : '')
    show($('poll-state'), h('span', { class: 'badge bad' }, `admin API unreachable: ${e.message}`))
  }
  $('sign-in').hidden = true
  $('main').hidden = false
  $('sign-out').hidden = token.get() === ''
  state.running = true
  schedule()
}

$('sign-in-form').addEventListener('submit', (ev) => {
  ev.preventDefault()
  token.set($('token').value.trim())
  $('token').value = ''
  start()
})

$('sign-out').addEventListener('click', () => {
  token.clear()
  signedOut('Signed out.')
})

// ---- polling ----

function schedule() {
  clearTimeout(state.timer)
  if (state.running) state.timer = setTimeout(tick, POLL_MS)
}

async function tick() {
  if (document.hidden) return schedule()
  try {
    await refresh()
  } catch (e) {
    if (e instanceof Unauthorized) return signedOut('The admin API refused the token (401): it may have been rotated.')
    show($('poll-state'), h('span', { class: 'badge bad' }, `admin API unreachable: ${e.message}`))
  }
  schedule()
}

document.addEventListener('visibilitychange', () => { if (!document.hidden && state.running) tick() })

/** Each section fails on its own: an error in one answer is shown there, the rest still update. */
function section(id, promise, render) {
  return promise.then(
    (data) => show($(id), render(data)),
    (e) => {
      if (e instanceof Unauthorized) throw e
      show($(id), h('p', { class: 'alert' }, e.message))
    },
  )
}

async function refresh() {
  const cfg = await get('/config')
  show($('config-body'), view.configView(cfg))
  show($('listeners-body'), view.listenersView(cfg.config))
  show($('header-version'), 'version ', h('code', {}, cfg.version))
  const reloadAt = cfg.last_reload?.at ?? ''
  const changed = cfg.version !== state.version || reloadAt !== state.reloadAt
  state.version = cfg.version
  state.reloadAt = reloadAt
  await Promise.all([
    section('clusters-body', get('/clusters'), view.clustersView),
    section('experiments-body', get('/experiments'), view.experimentsView),
    section('cache-body', get('/cache'), view.cacheView),
    section('tenants-body', tenantsWithUsage(), ([t, u]) => view.tenantsView(t, u, TENANTS_SHOWN)),
    changed ? refreshHistory() : null,
  ])
  show($('poll-state'), h('span', { class: 'muted' }, `updated ${when(new Date().toISOString()).slice(11)} · every ${POLL_MS / 1000} s`))
}

async function tenantsWithUsage() {
  const tenants = await get('/tenants')
  const usage = new Map()
  await Promise.all(tenants.tenants.slice(0, TENANTS_SHOWN).map((t) =>
    get(`/tenants/${encodeURIComponent(t.name)}`).then((u) => usage.set(t.name, u), (e) => { if (e instanceof Unauthorized) throw e; usage.set(t.name, e) })))
  return [tenants, usage]
}

// ---- reloads and their diff ----

async function refreshHistory() {
  const { history } = await get('/config/history')
  state.history = history
  if (state.followNewest && history.length > 0) state.selected = history[0].version
  renderHistory()
  if (state.selected) await showDiff(state.selected)
}

function renderHistory() {
  show($('history-body'), view.historyView(state.history, state.selected, (v) => {
    state.selected = v
    state.followNewest = v === state.history[0]?.version
    renderHistory()
    showDiff(v).catch((e) => show($('diff-body'), h('p', { class: 'alert' }, e.message)))
  }))
}

async function showDiff(version) {
  const i = state.history.findIndex((e) => e.version === version)
  if (i < 0) return show($('diff-body'))
  const previous = state.history[i + 1]?.version
  const [to, from] = await Promise.all([get(`/config/history/${encodeURIComponent(version)}`), previous ? get(`/config/history/${encodeURIComponent(previous)}`) : null])
  show($('diff-body'), view.diffView(previous, version, configDiff(from?.config, to.config)))
}

// ---- validator ----

$('validate-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const out = $('validate-result')
  show(out, h('p', { class: 'muted' }, 'compiling…'))
  try {
    const r = await validate($('validate-name').value.trim() || 'config.yaml', $('validate-text').value)
    show(out, view.validateView(r, locate))
  } catch (e) {
    if (e instanceof Unauthorized) return signedOut('The admin API refused the token (401).')
    show(out, h('p', { class: 'alert' }, e.message))
  }
})

/** Puts the editor's caret at line:col of its text (both counted from 1). */
function locate(line, col) {
  const area = $('validate-text')
  const lines = area.value.split('\n')
  let offset = 0
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1
  offset += Math.max(0, col - 1)
  area.focus()
  area.setSelectionRange(offset, offset + 1)
}

start()
