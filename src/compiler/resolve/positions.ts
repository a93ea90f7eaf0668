/**
 * Where things came from. A `Located` is a place in one loaded document (the document and the path
 * inside it); `SourcePositions` maps paths in the IR (`filters[0].config`) to the place in the
 * documents they were lowered from, so checks that run on the IR (a filter factory's, in the dry
 * build) can still report `file:line:col` without walking the documents again.
 */
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js'
import { formatPath } from '../diagnostics.js'
import { positionOf, type LoadedDoc } from '../load.js'

export type Segs = readonly (string | number)[]

export interface Located {
  readonly doc: LoadedDoc
  /** Path inside the document, e.g. `['routes', 0, 'rules', 1]`. */
  readonly at: Segs
}

/** A config object as merged, with where it was written. */
export interface LocatedValue<T> extends Located {
  readonly value: T
}

/** The place `more` below `l`. */
export function below(l: Located, ...more: Segs): Located {
  return { doc: l.doc, at: [...l.at, ...more] }
}

/** `file:line:col` of a place, as diagnostics cite a first definition. */
export function where(l: Located): string {
  const { line, col } = positionOf(l.doc, l.at)
  return `${l.doc.source}:${line}:${col}`
}

/** A diagnostic at a place; with `key`, at that key of the map there (an unknown name). */
export function diagnosticAt(code: DiagnosticCode, l: Located, message: string, key?: string): Diagnostic {
  const { line, col } = positionOf(l.doc, l.at, key)
  return { code, source: l.doc.source, line, col, path: formatPath(key ? [...l.at, key] : l.at), message }
}

/** IR path → the place it was lowered from. Positions are computed only when asked for. */
export class SourcePositions {
  private readonly byPath = new Map<string, Located>()

  record(irPath: Segs, from: Located): void {
    this.byPath.set(formatPath(irPath), from)
  }

  locate(irPath: Segs): Located | undefined {
    return this.byPath.get(formatPath(irPath))
  }

  /** `file:line:col` of what `irPath` was lowered from. */
  where(irPath: Segs): string | undefined {
    const l = this.locate(irPath)
    return l && where(l)
  }

  /** Every IR path recorded, in the order they were (tests, debugging). */
  paths(): string[] {
    return [...this.byPath.keys()]
  }
}
