/**
 * Loading: read YAML sources (a file, a directory of files, or in-memory texts such as etcd values)
 * into documents that remember where every node came from, so later passes can report `line:col`.
 */
import { LineCounter, parseAllDocuments, isAlias, isMap, isSeq, visit, type Alias, type Document, type Node } from 'yaml'
import type { Diagnostic } from './diagnostics.js'
import type { SourceText } from './read-sources.js'
export { readPathSources, type SourceText } from './read-sources.js'

export interface LoadedDoc {
  readonly source: string
  readonly baseDir: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
  readonly value: unknown
}


export function loadSources(sources: readonly SourceText[], diags: Diagnostic[]): LoadedDoc[] {
  const docs: LoadedDoc[] = []
  for (const src of sources) {
    const lines = new LineCounter()
    const parsed = parseAllDocuments(src.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
    const list = Array.isArray(parsed) ? parsed : []
    if (!Array.isArray(parsed)) {
      // parseAllDocuments returns an EmptyStream for empty input; nothing to load.
      continue
    }
    for (const doc of list) {
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const { line, col } = lines.linePos(e.pos[0])
          diags.push({ code: 'SY_CFG_YAML', source: src.name, line, col, path: '', message: firstLine(e.message) })
        }
        continue
      }
      if (doc.contents === null) continue // an empty document between `---` markers
      const value = toPlain(doc, src.name, lines, diags)
      if (value === undefined) continue
      docs.push({ source: src.name, baseDir: src.baseDir ?? process.cwd(), doc, lines, value })
    }
  }
  return docs
}

const MAX_ALIAS_COUNT = 100

/**
 * `doc.toJS()`, with the two ways it throws (an alias whose anchor is not defined before it, and
 * too many alias expansions: a "billion laughs" document) reported at the alias instead.
 */
function toPlain(doc: Document.Parsed, source: string, lines: LineCounter, diags: Diagnostic[]): unknown {
  const at = (node: Node) => lines.linePos(node.range?.[0] ?? 0)
  const anchors = new Set<string>()
  const aliases: Alias[] = []
  let unresolved = 0
  // The same walk (document order) the yaml library resolves aliases with: an alias refers to the
  // last anchor of that name before it.
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        aliases.push(node)
        if (!anchors.has(node.source)) {
          unresolved++
          diags.push({ code: 'SY_CFG_YAML', source, ...at(node), path: '', message: `unresolved alias *${node.source}: no anchor &${node.source} is defined before it` })
        }
      } else if (node.anchor) anchors.add(node.anchor)
    },
  })
  if (unresolved > 0) return undefined
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
  } catch (e) {
    const first = aliases[0]
    const pos = first ? at(first) : at(doc.contents as Node)
    const excessive = /excessive alias count/i.test(String((e as Error).message))
    const message = excessive
      ? `aliases expand too often (a resource-exhaustion guard allows ${MAX_ALIAS_COUNT} expansions); refusing the document`
      : `cannot read the document: ${firstLine(String((e as Error).message))}`
    diags.push({ code: 'SY_CFG_YAML', source, ...pos, path: '', message })
    return undefined
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n')
  return i < 0 ? s : s.slice(0, i)
}

/**
 * Position of the node at `segs` (or of its nearest existing ancestor). With `key`, points at the
 * map key rather than its value: used for "unknown property" errors.
 */
export function positionOf(d: LoadedDoc, segs: readonly (string | number)[], key?: string): { line: number; col: number } {
  let node: unknown = d.doc.contents
  let offset = (node as Node | null)?.range?.[0] ?? 0
  const walk = key === undefined ? segs : [...segs, key]
  for (let i = 0; i < walk.length; i++) {
    const seg = walk[i]
    const isLastKey = key !== undefined && i === walk.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === String(seg))
      if (!pair) break
      if (isLastKey) {
        offset = (pair.key as Node | null)?.range?.[0] ?? offset
        break
      }
      node = pair.value
      offset = (pair.value as Node | null)?.range?.[0] ?? (pair.key as Node | null)?.range?.[0] ?? offset
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)]
      if (!item) break
      node = item
      offset = (item as Node).range?.[0] ?? offset
    } else break
  }
  return d.lines.linePos(offset)
}
