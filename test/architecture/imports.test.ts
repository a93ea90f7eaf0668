/**
 * The layering docs/architecture.md describes, checked over the import graph of src/ (issue 11):
 * the compiler is a pure front that never reaches into the runtime; the runtime takes only types
 * from the compiler; nothing a worker thread loads pulls in ajv or compiler code; no import cycles.
 * Each failure lists the offending imports as `file:line: imports X`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { importCycles, importGraph, reachable, scanImports, type ImportEdge } from '../support/import-graph.js'

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'src', 'runtime', 'worker.ts'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('repository root not found')
    dir = up
  }
  return dir
}

const root = findRoot()
const graph = importGraph(root)
const edges = [...graph.values()].flat()
const WORKER = 'src/runtime/worker.ts'

const under = (dir: string) => (f: string | undefined) => f !== undefined && f.startsWith(`${dir}/`)
const inCompiler = under('src/compiler')
const inRuntime = under('src/runtime')
const inControl = under('src/control')
const inShared = under('src/shared')
const loads = (e: ImportEdge) => e.kind === 'value'
const shown = (e: ImportEdge, note = '') => `${e.from}:${e.line}: imports ${e.to ?? e.spec}${e.kind === 'type' ? ' (type)' : ''}${note}`
/** Fails with one line per offence, so the output names every offending import and nothing else. */
function noneOf(title: string, lines: readonly string[]): void {
  if (lines.length > 0) assert.fail(`${title}:\n  ${lines.join('\n  ')}`)
}

test('the scanner sees static, re-exported, type-only, dynamic and type-position imports', () => {
  const text = [
    "import { a } from './a.js'",
    "import type { B } from './b.js'",
    "import { type C, type D } from './c.js'",
    "import E, {",
    '  type F,',
    '  g,',
    "} from 'ajv/dist/2020.js'",
    "export { h } from './h.js'",
    "export type { I } from './i.js'",
    "import './side-effect.js'",
    "const m = await import('./lazy.js')",
    "let t: import('./typed.js').T",
    " * import { fake } from './in-a-comment.js'",
    "// const n = await import('./commented.js')",
  ].join('\n')
  const got = scanImports(text, 'src/x/y.ts', root).map((e) => [e.line, e.spec, e.kind, e.dynamic, e.pkg ?? e.to])
  assert.deepStrictEqual(got, [
    [1, './a.js', 'value', false, 'src/x/a.ts'],
    [2, './b.js', 'type', false, 'src/x/b.ts'],
    [3, './c.js', 'type', false, 'src/x/c.ts'],
    [4, 'ajv/dist/2020.js', 'value', false, 'ajv'],
    [8, './h.js', 'value', false, 'src/x/h.ts'],
    [9, './i.js', 'type', false, 'src/x/i.ts'],
    [10, './side-effect.js', 'value', false, 'src/x/side-effect.ts'],
    [11, './lazy.js', 'value', true, 'src/x/lazy.ts'],
    [12, './typed.js', 'type', false, 'src/x/typed.ts'],
  ])
})

test('the graph covers src/: the worker reaches the gateway and the compiler reaches ajv', () => {
  assert.ok(graph.size > 50, `only ${graph.size} files under src/`)
  assert.ok(edges.some((e) => e.from === WORKER && e.to === 'src/runtime/gateway.ts' && e.kind === 'value'))
  assert.ok(edges.some((e) => inCompiler(e.from) && e.pkg === 'ajv' && e.kind === 'value'))
  for (const e of edges) if (e.to !== undefined && inRuntime(e.to)) assert.ok(graph.has(e.to), `${shown(e)}, which does not exist`)
})

type Graph = ReadonlyMap<string, readonly ImportEdge[]>
const edgesOf = (g: Graph) => [...g.values()].flat()

// The rules, as functions of a graph, so the synthetic graph below shows each one catching what it should.
const compilerIntoRuntime = (g: Graph) => edgesOf(g).filter((e) => inCompiler(e.from) && (inRuntime(e.to) || inControl(e.to))).map((e) => shown(e))
const runtimeCompilerValues = (g: Graph) =>
  edgesOf(g).filter((e) => inRuntime(e.from) && (inCompiler(e.to) || inControl(e.to)) && loads(e)).map((e) => shown(e))
const sharedOutward = (g: Graph) => edgesOf(g).filter((e) => inShared(e.from) && e.to !== undefined && e.to.startsWith('src/') && !inShared(e.to)).map((e) => shown(e))

/** What the worker entry loads (value imports, followed transitively) that only the main thread should. */
function workerOffences(g: Graph): string[] {
  const bad: string[] = []
  for (const [file, chain] of reachable(g, WORKER, loads)) {
    const via = chain.length > 1 ? ` (worker via ${chain.join(' → ')})` : ''
    for (const e of g.get(file)!) {
      if (!loads(e)) continue
      if (e.pkg === 'ajv' || (inCompiler(e.to) && !inCompiler(file)) || (inControl(e.to) && !inControl(file))) bad.push(shown(e, via))
    }
  }
  return bad
}

/** Each cycle as its chain of imports, type imports included: a type cycle still ties the modules' meaning together. */
function cycleLines(g: Graph): string[] {
  return importCycles(g, () => true).map((c) => c.slice(0, -1).map((f, i) => {
    const e = g.get(f)!.find((x) => x.to === c[i + 1])!
    return `${f}:${e.line}: imports ${c[i + 1]}${e.kind === 'type' ? ' (type)' : ''}`
  }).join('\n    → '))
}

test('each rule catches its offence in a synthetic graph', () => {
  const files: Record<string, string[]> = {
    'src/runtime/worker.ts': ["import { g } from './gateway.js'"],
    'src/runtime/gateway.ts': ["import { b } from './build/snapshot.js'", "import type { IR } from '../compiler/ir.js'"],
    'src/runtime/build/snapshot.ts': ["import { v } from '../../compiler/validate.js'"],
    'src/compiler/validate.ts': ["import Ajv from 'ajv'", "import type { T } from '../runtime/types.js'"],
    'src/compiler/ir.ts': [],
    'src/runtime/types.ts': ["import type { IR } from '../compiler/ir.js'", "import { p } from '../control/messages.js'"],
    'src/control/pool.ts': ["import { compileConfig } from '../compiler/validate.js'", "import { s } from './admin.js'"],
    'src/control/admin.ts': ["import type { S } from './pool.js'"],
    'src/shared/units.ts': ["import type { X } from '../runtime/types.js'"],
  }
  const g: Graph = new Map(Object.entries(files).map(([f, lines]) => [f, scanImports(lines.join('\n'), f, root)]))
  assert.deepStrictEqual(compilerIntoRuntime(g), ['src/compiler/validate.ts:2: imports src/runtime/types.ts (type)'])
  assert.deepStrictEqual(runtimeCompilerValues(g), ['src/runtime/build/snapshot.ts:1: imports src/compiler/validate.ts', 'src/runtime/types.ts:2: imports src/control/messages.ts'])
  assert.deepStrictEqual(sharedOutward(g), ['src/shared/units.ts:1: imports src/runtime/types.ts (type)'])
  const via = 'src/runtime/worker.ts → src/runtime/gateway.ts → src/runtime/build/snapshot.ts'
  assert.deepStrictEqual(workerOffences(g), [
    `src/runtime/build/snapshot.ts:1: imports src/compiler/validate.ts (worker via ${via})`,
    `src/compiler/validate.ts:1: imports ajv (worker via ${via} → src/compiler/validate.ts)`,
  ])
  assert.deepStrictEqual(cycleLines(g), ['src/control/admin.ts:1: imports src/control/pool.ts (type)\n    → src/control/pool.ts:2: imports src/control/admin.ts'])
})

test('src/compiler imports nothing from src/runtime or src/control, not even types', () => {
  noneOf('the compiler reaches into the runtime', compilerIntoRuntime(graph))
})

test('src/runtime imports only types from src/compiler and src/control', () => {
  noneOf('runtime modules import compiler or control values', runtimeCompilerValues(graph))
})

test('src/shared depends on no other part of src/', () => {
  noneOf('shared modules import gateway code', sharedOutward(graph))
})

test('nothing a worker thread loads imports ajv, compiler values or control code', () => {
  noneOf('worker modules load what only the main thread needs', workerOffences(graph))
})

test('src/ has no import cycles', () => {
  noneOf('import cycles', cycleLines(graph))
})

test('the main thread of `switchyard run` loads no snapshot build (its dry build runs in a worker)', () => {
  const bad: string[] = []
  for (const [file, chain] of reachable(graph, 'src/control/supervisor.ts', loads)) {
    for (const e of graph.get(file)!) {
      if (loads(e) && under('src/runtime/build')(e.to)) bad.push(shown(e, chain.length > 1 ? ` (main via ${chain.join(' → ')})` : ''))
    }
  }
  noneOf('main-thread modules load the runtime\'s snapshot build', bad)
})
