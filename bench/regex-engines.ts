// Cost of running route regexes on RE2JS (linear time) instead of V8's backtracking RegExp.
//   node dist/bench/regex-engines.js
// Prints ns per match for typical route patterns, then the time both engines need for the ReDoS case.
import { performance } from 'node:perf_hooks'
import { compileGlob, compileRouteRegex } from '../src/shared/route-regex.js'

interface Case { readonly name: string; readonly pattern: string; readonly inputs: readonly string[]; readonly glob?: boolean }

const CASES: readonly Case[] = [
  { name: 'path ^/v1/(chat|responses)', pattern: '^/v1/(chat|responses)', inputs: ['/v1/chat/completions', '/v1/responses', '/v1/embeddings'] },
  { name: 'path ^/v1/(chat/)?completions$', pattern: '^/v1/(chat/)?completions$', inputs: ['/v1/chat/completions', '/v1/completions', '/v1/models/gpt-4o'] },
  { name: 'header (^|,)beta(,|$)', pattern: '(^|,)beta(,|$)', inputs: ['alpha,beta', 'beta', 'alpha,gamma,delta'] },
  { name: 'header ^Bearer sk-[A-Za-z0-9]+$', pattern: '^Bearer sk-[A-Za-z0-9]+$', inputs: ['Bearer sk-abcdef0123456789abcdef', 'Basic dXNlcjpwYXNz'] },
  { name: 'query ^\\d{4}-\\d{2}$', pattern: '^\\d{4}-\\d{2}$', inputs: ['2024-06', '2024-06-01', 'latest'] },
  { name: 'model glob claude-*-sonnet*', pattern: 'claude-*-sonnet*', inputs: ['claude-3-5-sonnet-20241022', 'claude-3-opus', 'gpt-4o'], glob: true },
]

function nsPerMatch(test: (s: string) => boolean, inputs: readonly string[]): number {
  const rounds = 200_000
  let hits = 0
  for (let i = 0; i < 20_000; i++) if (test(inputs[i % inputs.length])) hits++ // warm up the JIT
  const t0 = performance.now()
  for (let i = 0; i < rounds; i++) if (test(inputs[i % inputs.length])) hits++
  const ns = ((performance.now() - t0) * 1e6) / rounds
  if (hits < 0) console.log(hits) // keep the loop observable
  return ns
}

function globRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*') + '$', 's')
}

console.log('| pattern | RegExp ns/match | RE2JS ns/match |')
console.log('| --- | ---: | ---: |')
for (const c of CASES) {
  const native = c.glob ? globRegExp(c.pattern) : new RegExp(c.pattern)
  const re2 = c.glob ? compileGlob(c.pattern) : compileRouteRegex(c.pattern)
  const a = nsPerMatch((s) => native.test(s), c.inputs)
  const b = nsPerMatch((s) => re2.test(s), c.inputs)
  console.log(`| ${c.name} | ${a.toFixed(0)} | ${b.toFixed(0)} |`)
}

console.log('\nReDoS: header regex (a+)+$ against n × "a" + "!"')
const evil = '(a+)+$'
const nativeEvil = new RegExp(evil)
const re2Evil = compileRouteRegex(evil)
for (const n of [16, 20, 22, 24]) {
  const s = 'a'.repeat(n) + '!'
  let t = performance.now()
  nativeEvil.test(s)
  const a = performance.now() - t
  t = performance.now()
  re2Evil.test(s)
  const b = performance.now() - t
  console.log(`  n=${n}: RegExp ${a.toFixed(1)} ms, RE2JS ${b.toFixed(3)} ms`)
}
const long = 'a'.repeat(8192) + '!'
const t = performance.now()
re2Evil.test(long)
console.log(`  n=8192: RE2JS ${(performance.now() - t).toFixed(3)} ms (RegExp: would not finish)`)
