// Building the page from data without ever parsing data as HTML: every string becomes a text node.

/** `h('td', { class: 'num' }, 'text', otherNode)`; null and false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

/** Replaces what `el` shows. */
export function show(el, ...children) {
  el.replaceChildren()
  append(el, children)
}

/** A table: `columns` as [heading, className?], `rows` as arrays of cells (strings or nodes), each row's attrs optional. */
export function table(columns, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, columns.map(([c, cls]) => h('th', { class: cls }, c)))),
    h('tbody', {}, rows.map((r) => {
      const cells = Array.isArray(r) ? r : r.cells
      return h('tr', Array.isArray(r) ? {} : r.attrs, cells.map((c, i) => h('td', { class: columns[i]?.[1] }, c)))
    })),
  )
}

/** A coloured label: kind is ok, bad, warn or muted. */
export function badge(text, kind) {
  return h('span', { class: `badge ${kind}` }, text)
}

export function when(iso) {
  if (iso === null || iso === undefined) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z'
}

export function bytes(n) {
  if (typeof n !== 'number') return '—'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

export function pct(x) {
  return typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '—'
}

export function num(x, unit = '') {
  return typeof x === 'number' ? `${Number.isInteger(x) ? x : x.toFixed(1)}${unit}` : '—'
}
