/**
 * Route regexes on the linear-time engine (issue 10, item 8): ECMAScript syntax accepted, the same
 * answers as RegExp on route-shaped patterns, backreferences and lookaround rejected with a reason,
 * and no catastrophic backtracking on any pattern or input.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileGlob, compileRouteRegex, routeRegexProblem } from '../../src/shared/route-regex.js'
import { compileStringMatch } from '../../src/runtime/routing/match.js'

const PATTERNS = [
  '^/v1/(chat|responses)', '^/v1/(chat/)?completions$', 'embed', 'completions$', '^/v1/models/', '(^|,)beta(,|$)',
  '^\\d{4}-\\d{2}$', '^Bearer sk-[A-Za-z0-9]+$', '^a', 'beta', '^$', 'c?m', '\\/v1\\/x', '^[^/]+$', '(?<ver>v\\d+)',
  '\\bgpt\\b', '^\\u0041', '[\\s\\S]{3}', '^x{2,}$', '\\x41', '(?:a|b)*c', '[]', '[^]', 'a.c', '\\.', '\\cJ',
]
const INPUTS = [
  '', '/v1/chat/completions', '/v1/responses', '/v1/completions', '/v1/embeddings', '/v1/models/gpt-4o', 'alpha,beta',
  'beta', 'betamax', '2024-06', '2024-06-01', 'Bearer sk-abc123', 'Bearer sk-', '/v1/x', 'v12', 'gpt-4o', 'a gpt b',
  'A', 'xx', 'x', 'abac', 'a\nc', 'a.c', 'abc', 'com', '\n', 'ünïcødé', '😀',
]

test('every route-shaped pattern is accepted and answers exactly as RegExp does', () => {
  const disagree: string[] = []
  for (const p of PATTERNS) {
    assert.equal(routeRegexProblem(p), undefined, p)
    const re2 = compileRouteRegex(p)
    const native = new RegExp(p)
    for (const s of INPUTS) if (re2.test(s) !== native.test(s)) disagree.push(`${p} on ${JSON.stringify(s)}`)
  }
  assert.deepStrictEqual(disagree, [])
})

test('backreferences and lookaround are rejected, naming the feature', () => {
  const cases: [string, string][] = [
    ['(a)\\1', 'backreference \\1'],
    ['^(\\w+)-(\\w+)-\\2$', 'backreference \\2'],
    ['(?<n>a)\\k<n>', 'named backreference \\k<…>'],
    ['^/v1/(?=chat)', 'lookahead (?=…)'],
    ['foo(?!bar)', 'lookahead (?!…)'],
    ['(?<=a)b', 'lookbehind (?<=…)'],
    ['(?<!a)b', 'lookbehind (?<!…)'],
  ]
  for (const [p, feature] of cases) {
    assert.equal(routeRegexProblem(p), `regex ${JSON.stringify(p)} uses a feature the linear-time engine does not support: ${feature} (route regexes run on RE2, which has no backreferences or lookaround)`)
  }
})

test('look-alikes of those features inside classes or after an escaped backslash are fine', () => {
  for (const p of ['[(?=]', '\\\\1', '[\\\\1]', '\\(?=', 'a\\\\k<b>']) assert.equal(routeRegexProblem(p), undefined, p)
})

test('a pattern that is no valid ECMAScript regex is reported as invalid', () => {
  assert.equal(routeRegexProblem('[a-z'), 'invalid regex "[a-z": Unterminated character class')
  assert.equal(routeRegexProblem('*beta'), 'invalid regex "*beta": Nothing to repeat')
  assert.match(routeRegexProblem('(?i)abc')!, /^invalid regex "\(\?i\)abc": /)
})

test('catastrophic-backtracking patterns answer in one pass, however long the input', () => {
  // Each of these takes V8's RegExp exponential (or high-polynomial) time on these inputs.
  const cases: [string, string, boolean][] = [
    ['(a+)+$', 'a'.repeat(10_000) + '!', false],
    ['^(a|aa)+$', 'a'.repeat(10_000) + '!', false],
    ['^(\\w+\\s?)*$', 'word '.repeat(2_000) + '!', false],
    ['(a+)+$', 'a'.repeat(10_000), true],
  ]
  for (const [p, s, expected] of cases) assert.equal(compileRouteRegex(p).test(s), expected, p)
})

test('model globs: * any run, ? one character, full match, and linear in the input', () => {
  const cases: [string, string, boolean][] = [
    ['claude-*-sonnet*', 'claude-3-5-sonnet-20241022', true], ['claude-*-sonnet*', 'claude-3-opus', false],
    ['gpt-4?', 'gpt-4o', true], ['gpt-4?', 'gpt-4', false], ['gpt-4?', 'gpt-4oo', false], ['*', '', true],
    ['a.b', 'a.b', true], ['a.b', 'axb', false], ['(x)+', '(x)+', true], ['*\n*', 'a\nb', true],
    ['*a*a*a*b', 'a'.repeat(50_000), false], ['*a*a*a*b', 'a'.repeat(50_000) + 'b', true],
  ]
  assert.deepStrictEqual(cases.map(([g, s]) => [g, s, compileGlob(g).test(s)]), cases)
  const f = compileStringMatch({ kind: 'glob', value: 'gpt-4o*' })
  assert.deepStrictEqual([f('gpt-4o-mini'), f('gpt-4'), f('gpt-4o')], [true, false, true])
})
