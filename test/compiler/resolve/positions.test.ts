import { test } from 'node:test'
import assert from 'node:assert/strict'
import { below, diagnosticAt, SourcePositions, where } from '../../../src/compiler/resolve/positions.js'
import { validatedDocs } from '../../support/resolve-docs.js'

const [doc] = validatedDocs({
  'c.yaml': `clusters:
  - name: a
    provider: mock
    timeout: 5s
`,
})

test('where() is file:line:col of the node at the path, or of its nearest existing ancestor', () => {
  assert.equal(where({ doc, at: ['clusters', 0, 'timeout'] }), 'c.yaml:4:14')
  assert.equal(where(below({ doc, at: ['clusters', 0] }, 'not_written')), 'c.yaml:2:5')
})

test('a diagnostic with a key points at that key and names it in the path', () => {
  assert.deepStrictEqual(diagnosticAt('SY_CFG_SCHEMA', { doc, at: ['clusters', 0] }, 'm', 'timeout'), {
    code: 'SY_CFG_SCHEMA', source: 'c.yaml', line: 4, col: 5, path: 'clusters[0].timeout', message: 'm',
  })
})

test('SourcePositions leads an IR path back to where it was written', () => {
  const positions = new SourcePositions()
  positions.record(['clusters', 0, 'timeoutMs'], { doc, at: ['clusters', 0, 'timeout'] })
  assert.deepStrictEqual(positions.locate(['clusters', 0, 'timeoutMs'])?.at, ['clusters', 0, 'timeout'])
  assert.equal(positions.where(['clusters', 0, 'timeoutMs']), 'c.yaml:4:14')
  assert.equal(positions.locate(['clusters', 1]), undefined)
  assert.deepStrictEqual(positions.paths(), ['clusters[0].timeoutMs'])
})
