/**
 * A regex-based import scanner for the TypeScript sources under src/: enough to see the module
 * graph (static imports and re-exports, side-effect imports, literal dynamic `import()`), which
 * edges only carry types (erased by tsc, so they load nothing), and where each one is written.
 * It reads statements that begin a line, as every import in src/ does; a JSDoc or comment line
 * never does.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

export interface ImportEdge {
  /** The importing file, repository-relative with `/` (`src/runtime/worker.ts`). */
  readonly from: string
  readonly line: number
  /** The specifier as written (`../compiler/ir.js`, `ajv/dist/2020.js`). */
  readonly spec: string
  /** The imported file, repository-relative, when it lies in the repository; else undefined. */
  readonly to: string | undefined
  /** The package name of a bare specifier (`ajv`, `@smithy/core`, `node:fs`). */
  readonly pkg: string | undefined
  /** `type`: `import type`, `export type`, all specifiers `type`, or `import('x').T` in a type position. */
  readonly kind: 'value' | 'type'
  readonly dynamic: boolean
}

// import [type] <clause> from '<spec>' — the clause is a default name, `* as ns` and/or `{ … }` (may span lines).
const STATIC_IMPORT = /^[ \t]*import\s+(type\s+)?((?:[\w$]+\s*,?\s*)?(?:\*\s*as\s+[\w$]+|\{[^}]*\})?)\s*from\s*(['"])([^'"]+)\3/gm
// export [type] * [as ns] | { … } from '<spec>'
const STATIC_EXPORT = /^[ \t]*export\s+(type\s+)?(\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])([^'"]+)\3/gm
// import '<spec>' (side effects only)
const BARE_IMPORT = /^[ \t]*import\s*(['"])([^'"]+)\1/gm
// import('<spec>'), optionally followed by a member access: `import('x').T` in a type is a type reference.
const DYNAMIC_IMPORT = /\bimport\(\s*(['"])([^'"]+)\1\s*\)(\s*\.\s*([A-Za-z_$][\w$]*))?/g
// require('<spec>') through createRequire: loads a CommonJS module synchronously, on first use.
const REQUIRE_CALL = /\brequire\(\s*(['"])([^'"]+)\1\s*\)/g

/** Every import written in `text` (a file at repository-relative `from`), resolved against `root`. */
export function scanImports(text: string, from: string, root: string): ImportEdge[] {
  const edges: ImportEdge[] = []
  const lineAt = lineIndex(text)
  const add = (index: number, spec: string, kind: 'value' | 'type', dynamic: boolean) => {
    const target = resolveSpec(spec, from, root)
    edges.push({ from, line: lineAt(index), spec, ...target, kind, dynamic })
  }
  for (const m of text.matchAll(STATIC_IMPORT)) add(m.index!, m[4], m[1] || onlyTypes(m[2]) ? 'type' : 'value', false)
  for (const m of text.matchAll(STATIC_EXPORT)) add(m.index!, m[4], m[1] || onlyTypes(m[2]) ? 'type' : 'value', false)
  for (const m of text.matchAll(BARE_IMPORT)) add(m.index!, m[2], 'value', false)
  for (const m of text.matchAll(DYNAMIC_IMPORT)) {
    if (inComment(text, m.index!)) continue
    const member = m[4]
    const typeRef = member !== undefined && member !== 'then' && member !== 'catch' && member !== 'finally'
    add(m.index!, m[2], typeRef ? 'type' : 'value', !typeRef)
  }
  for (const m of text.matchAll(REQUIRE_CALL)) if (!inComment(text, m.index!)) add(m.index!, m[2], 'value', true)
  return edges.sort((a, b) => a.line - b.line)
}

/** `{ type A, type B }` imports only types; a default name, a namespace or one plain specifier is a value. */
function onlyTypes(clause: string): boolean {
  const braces = /^\{([^}]*)\}$/.exec(clause.trim())
  if (!braces) return false
  const names = braces[1].split(',').map((s) => s.trim()).filter(Boolean)
  return names.length > 0 && names.every((n) => /^type\s/.test(n))
}

/** Whether `index` lies on a `//` comment line or inside a `/* … *\/` block (dynamic imports only). */
function inComment(text: string, index: number): boolean {
  const lineStart = text.lastIndexOf('\n', index - 1) + 1
  const before = text.slice(lineStart, index)
  if (before.includes('//')) return true
  const open = text.lastIndexOf('/*', index)
  return open >= 0 && text.lastIndexOf('*/', index) < open
}

function lineIndex(text: string): (index: number) => number {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1)
  return (index) => {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid] <= index) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }
}

function resolveSpec(spec: string, from: string, root: string): { to: string | undefined; pkg: string | undefined } {
  if (!spec.startsWith('.')) {
    const parts = spec.split('/')
    return { to: undefined, pkg: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] }
  }
  const abs = resolve(root, dirname(from), spec)
  const candidates = [abs.replace(/\.js$/, '.ts'), abs, `${abs}.ts`, join(abs, 'index.ts')]
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? candidates[0]
  return { to: toPosix(relative(root, hit)), pkg: undefined }
}

const toPosix = (p: string) => p.split(sep).join('/')

/** Every `.ts` file under `dir` (repository-relative to `root`), sorted. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(toPosix(relative(root, p)))
    }
  }
  walk(join(root, dir))
  return out
}

/** The import graph of every source file under `dir`. */
export function importGraph(root: string, dir = 'src'): Map<string, ImportEdge[]> {
  const graph = new Map<string, ImportEdge[]>()
  for (const f of sourceFiles(root, dir)) graph.set(f, scanImports(readFileSync(join(root, f), 'utf8'), f, root))
  return graph
}

/**
 * The files reachable from `start` along edges `follow` accepts, each with the chain of files
 * that reaches it (breadth first, so the chain is a shortest one).
 */
export function reachable(graph: ReadonlyMap<string, readonly ImportEdge[]>, start: string, follow: (e: ImportEdge) => boolean): Map<string, string[]> {
  const via = new Map<string, string[]>([[start, [start]]])
  const queue = [start]
  while (queue.length) {
    const f = queue.shift()!
    for (const e of graph.get(f) ?? []) {
      if (!e.to || !graph.has(e.to) || via.has(e.to) || !follow(e)) continue
      via.set(e.to, [...via.get(f)!, e.to])
      queue.push(e.to)
    }
  }
  return via
}

/**
 * The import cycles along edges `follow` accepts: one cycle (as a file list that returns to its
 * start) per strongly connected component of more than one file, or a file importing itself.
 */
export function importCycles(graph: ReadonlyMap<string, readonly ImportEdge[]>, follow: (e: ImportEdge) => boolean): string[][] {
  const next = (f: string) => [...new Set((graph.get(f) ?? []).filter((e) => e.to && graph.has(e.to) && follow(e)).map((e) => e.to!))]
  // Tarjan's strongly connected components, iteratively (no recursion limit to worry about).
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  for (const root of graph.keys()) {
    if (index.has(root)) continue
    const work: { f: string; it: string[]; i: number }[] = []
    const enter = (f: string) => {
      index.set(f, counter)
      low.set(f, counter++)
      stack.push(f)
      onStack.add(f)
      work.push({ f, it: next(f), i: 0 })
    }
    enter(root)
    while (work.length) {
      const top = work[work.length - 1]
      if (top.i < top.it.length) {
        const n = top.it[top.i++]
        if (!index.has(n)) enter(n)
        else if (onStack.has(n)) low.set(top.f, Math.min(low.get(top.f)!, index.get(n)!))
        continue
      }
      work.pop()
      if (work.length) {
        const parent = work[work.length - 1].f
        low.set(parent, Math.min(low.get(parent)!, low.get(top.f)!))
      }
      if (low.get(top.f) === index.get(top.f)) {
        const comp: string[] = []
        let n: string
        do {
          n = stack.pop()!
          onStack.delete(n)
          comp.push(n)
        } while (n !== top.f)
        if (comp.length > 1 || next(top.f).includes(top.f)) components.push(comp.sort())
      }
    }
  }
  // One concrete cycle per component: the shortest path from its first file back to itself.
  return components.map((comp) => {
    const inComp = new Set(comp)
    const start = comp[0]
    const prev = new Map<string, string>()
    const queue = [start]
    const seen = new Set<string>()
    while (queue.length) {
      const f = queue.shift()!
      for (const n of next(f)) {
        if (!inComp.has(n)) continue
        if (n === start) {
          const path = [f]
          while (path[0] !== start) path.unshift(prev.get(path[0])!)
          return [...path, start]
        }
        if (seen.has(n)) continue
        seen.add(n)
        prev.set(n, f)
        queue.push(n)
      }
    }
    return [...comp, comp[0]]
  }).sort((a, b) => a[0].localeCompare(b[0]))
}
