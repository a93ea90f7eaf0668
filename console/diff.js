// What changed between two applied configs, object by object, as the CLI's `config diff` shows it:
// each object (`clusters/fleet`, `admin`) rendered as YAML-like lines, then a line diff.
const LIST_KINDS = ['listeners', 'routes', 'clusters', 'filters', 'tenants', 'keys']

/** The effective config as objects by id (the same ids as /config/history's `changes`). */
export function objectsOf(effective) {
  const out = new Map()
  for (const [section, value] of Object.entries(effective ?? {})) {
    if (LIST_KINDS.includes(section) && Array.isArray(value)) {
      for (const item of value) out.set(`${section}/${section === 'keys' ? item.id : item.name}`, item)
    } else if (value !== undefined) out.set(section, value)
  }
  return out
}

const PLAIN = /^[A-Za-z0-9_./:@${}*+-][A-Za-z0-9_ ./:@${}*+,-]*$/

function scalar(v) {
  if (typeof v === 'string') return PLAIN.test(v) && !/^(true|false|null|[\d.+-]+)$/.test(v) && !v.endsWith(' ') ? v : JSON.stringify(v)
  return JSON.stringify(v)
}

/** YAML-like lines of `value` (block style; enough to read a diff, not to be parsed back). */
export function yamlLines(value, indent = '') {
  if (value === null || typeof value !== 'object') return [indent + scalar(value)]
  const out = []
  if (Array.isArray(value)) {
    if (value.length === 0) return [indent + '[]']
    for (const item of value) {
      if (item !== null && typeof item === 'object' && Object.keys(item).length > 0) {
        const inner = yamlLines(item, indent + '  ')
        out.push(indent + '- ' + inner[0].slice(indent.length + 2), ...inner.slice(1))
      } else out.push(indent + '- ' + yamlLines(item)[0])
    }
    return out
  }
  const entries = Object.entries(value)
  if (entries.length === 0) return [indent + '{}']
  for (const [k, v] of entries) {
    if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) out.push(`${indent}${k}:`, ...yamlLines(v, indent + '  '))
    else out.push(`${indent}${k}: ${yamlLines(v)[0]}`)
  }
  return out
}

/** Longest-common-subsequence line diff: each line prefixed '  ', '- ' or '+ '. */
export function lineDiff(a, b) {
  const n = a.length
  const m = b.length
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  const out = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) (out.push(`  ${a[i]}`), i++, j++)
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) out.push(`- ${a[i++]}`)
    else out.push(`+ ${b[j++]}`)
  }
  return out
}

/** Per changed object: its id, '+', '-' or '~', and the diff lines (unchanged lines kept for context). */
export function configDiff(before, after) {
  const a = objectsOf(before)
  const b = objectsOf(after)
  const ids = [...new Set([...a.keys(), ...b.keys()])].sort()
  const out = []
  for (const id of ids) {
    const x = a.get(id)
    const y = b.get(id)
    if (JSON.stringify(x) === JSON.stringify(y)) continue
    const sign = x === undefined ? '+' : y === undefined ? '-' : '~'
    out.push({ id, sign, lines: lineDiff(x === undefined ? [] : yamlLines(x), y === undefined ? [] : yamlLines(y)) })
  }
  return out
}
