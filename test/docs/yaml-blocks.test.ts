/**
 * Docs that cannot rot: every YAML block in README.md and docs/*.md shows what its info string
 * says (a whole config, a fragment of one, or a deliberate mistake), checked by the compiler; see
 * doc-blocks.ts for the info strings. examples/ is compiled by test/compiler/examples.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { badInfo, checkBlock, docBlocks, isYaml, looksLikeConfig } from '../support/docs/doc-blocks.js'

const blocks = docBlocks()
const yamlBlocks = blocks.filter(isYaml)

test('the docs show YAML blocks (the extraction works)', () => {
  assert.ok(yamlBlocks.length >= 5, `only ${yamlBlocks.length} YAML blocks found`)
})

test('every block that holds a config is tagged yaml, so it is checked', () => {
  const untagged = blocks.filter((b) => !isYaml(b) && looksLikeConfig(b))
  assert.deepStrictEqual(untagged.map((b) => `${b.doc}:${b.line}: \`\`\`${b.info.join(' ')}`), [])
})

test('every yaml info string is one of: yaml, yaml fragment [in=<path>], yaml invalid', () => {
  assert.deepStrictEqual(yamlBlocks.flatMap((b) => (badInfo(b) ? [`${b.doc}:${b.line}: ${badInfo(b)}`] : [])), [])
})

for (const b of yamlBlocks) {
  test(`${b.doc}:${b.line} (\`\`\`${b.info.join(' ')}) shows what its info string says`, () => {
    assert.deepStrictEqual(checkBlock(b), [])
  })
}
