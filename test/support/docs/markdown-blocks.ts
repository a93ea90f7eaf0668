/**
 * Fenced code blocks of a Markdown file, with the line of their opening fence, so a test can
 * check what the docs show and point at it. A fence may be indented (inside a list item); its
 * indentation is removed from the block's lines.
 */
export interface CodeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number
  /** Text of the nearest heading above the block ('' before the first). */
  readonly heading: string
  /** The info string split on spaces: ```yaml fragment in=clusters[0] → ['yaml', 'fragment', 'in=clusters[0]']. */
  readonly info: readonly string[]
  readonly text: string
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const out: CodeBlock[] = []
  let heading = ''
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(lines[i])
    if (h) heading = h[1]
    const open = /^( *)(`{3,}|~{3,})(.*)$/.exec(lines[i])
    if (!open) continue
    const [, indent, fence, info] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const close = /^ *(`{3,}|~{3,})\s*$/.exec(lines[j])
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart())
    }
    out.push({ line: i + 1, heading, info: info.trim().split(/\s+/).filter(Boolean), text: body.join('\n') + '\n' })
    i = j
  }
  return out
}
