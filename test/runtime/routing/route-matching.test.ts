/**
 * One behaviour suite, two implementations (after Hono's runTest): the compiled route table from
 * buildSnapshot() and the naive linear oracle in test/support/linear-router.ts. Plus a randomized
 * check that both agree on generated tables and requests.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { prng } from '../../support/fuzz.js'
import { compileConfig } from '../../../src/compiler/index.js'
import type { SnapshotIR } from '../../../src/compiler/ir.js'
import { buildSnapshot, releaseSnapshot } from '../../../src/runtime/build/snapshot.js'
import { createStores } from '../../../src/runtime/stores.js'
import type { Identity, RequestHead } from '../../../src/runtime/types.js'
import { createLinearRouter } from '../../support/linear-router.js'

type Rule = Record<string, unknown>
type Matcher = { match(head: RequestHead): string | undefined; close(): Promise<void> }

/** YAML is a superset of JSON, so generated configs are written as JSON. */
function compileRules(rules: Rule[]): SnapshotIR {
  const config = {
    admin: { port: 0 },
    listeners: [{ name: 'l', port: 8080, route_table: 't' }],
    routes: [{ name: 't', rules: rules.map((r) => ({ cluster: 'c', ...r })) }],
    clusters: [{ name: 'c', provider: 'mock' }],
  }
  const r = compileConfig([{ name: 'generated.yaml', text: JSON.stringify(config, null, 1) }], { source: 'test', env: {} })
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n'))
  return r.ir
}

const implementations: { name: string; build(rules: Rule[]): Matcher }[] = [
  {
    name: 'compiled route table',
    build(rules) {
      const stores = createStores()
      const snap = buildSnapshot(compileRules(rules), stores)
      const table = snap.listeners.get(8080)!.table
      return {
        match: (head) => table.match(head)?.name,
        async close() {
          releaseSnapshot(snap, stores)
          await stores.pools.closeAll()
        },
      }
    },
  },
  {
    name: 'linear oracle',
    build(rules) {
      const router = createLinearRouter(compileRules(rules).routeTables[0])
      return { match: (head) => router.match(head)?.name, close: async () => {} }
    },
  },
]

interface Req { method?: string; path?: string; query?: string; headers?: Record<string, string>; model?: string; identity?: Identity }
const head = (r: Req): RequestHead => ({
  method: r.method ?? 'POST',
  path: r.path ?? '/v1/chat/completions',
  query: r.query ?? '',
  headers: r.headers ?? {},
  model: r.model,
  ...(r.identity && { identity: r.identity }),
})

const who = (tenant: string, labels: Record<string, string> = {}, claims?: Record<string, unknown>): Identity =>
  ({ tenant, labels, via: claims ? 'jwt' : 'api_key', keyId: claims ? undefined : 'k1', claims })

interface Case {
  readonly name: string
  readonly rules: Rule[]
  /** Each request with the name of the rule it should match (undefined: no rule). */
  readonly requests: [Req, string | undefined][]
}

const cases: Case[] = [
  {
    name: 'a tenant match needs an identity with that tenant (exact or glob)',
    rules: [{ name: 'acme', match: { tenant: { exact: 'acme' } } }, { name: 'teams', match: { tenant: { glob: 'team-*' } } }],
    requests: [[{ identity: who('acme') }, 'acme'], [{ identity: who('team-a') }, 'teams'], [{ identity: who('other') }, undefined], [{}, undefined]],
  },
  {
    name: 'tenant label conditions test the labels of the identity; without one only absent holds',
    rules: [
      { name: 'ent', match: { tenant_labels: [{ name: 'tier', exact: 'enterprise' }] } },
      { name: 'eu', match: { tenant_labels: [{ name: 'region', regex: '^eu' }, { name: 'beta', absent: true }] } },
      { name: 'labelled', match: { tenant_labels: [{ name: 'tier', present: true }] } },
    ],
    requests: [
      [{ identity: who('a', { tier: 'enterprise' }) }, 'ent'],
      [{ identity: who('b', { tier: 'free', region: 'eu-west' }) }, 'eu'],
      [{ identity: who('c', { tier: 'free', region: 'eu-west', beta: 'yes' }) }, 'labelled'],
      [{ identity: who('d') }, undefined],
      [{}, undefined],
    ],
  },
  {
    name: 'claim conditions read top-level and dotted claims; numbers and booleans compare as text, objects only as present',
    rules: [
      { name: 'admin', match: { claims: [{ name: 'role', exact: 'admin' }] } },
      { name: 'plan', match: { claims: [{ name: 'org.plan', exact: 'pro' }] } },
      { name: 'level', match: { claims: [{ name: 'level', regex: '^[0-9]+$' }, { name: 'beta', exact: 'true' }] } },
      { name: 'has-org', match: { claims: [{ name: 'org', present: true }] } },
    ],
    requests: [
      [{ identity: who('t', {}, { role: 'admin' }) }, 'admin'],
      [{ identity: who('t', {}, { org: { plan: 'pro' } }) }, 'plan'],
      [{ identity: who('t', {}, { 'org.plan': 'pro' }) }, 'plan'],
      [{ identity: who('t', {}, { level: 3, beta: true }) }, 'level'],
      [{ identity: who('t', {}, { org: { plan: 'free' } }) }, 'has-org'],
      [{ identity: who('t') }, undefined],
      [{}, undefined],
    ],
  },
  {
    name: 'a rule listing one method matches only that method',
    rules: [{ name: 'get', match: { methods: ['GET'] } }],
    requests: [[{ method: 'GET' }, 'get'], [{ method: 'POST' }, undefined], [{ method: 'get' }, undefined]],
  },
  {
    name: 'a rule listing several methods matches any of them',
    rules: [{ name: 'writes', match: { methods: ['PUT', 'DELETE', 'PATCH'] } }],
    requests: [[{ method: 'PUT' }, 'writes'], [{ method: 'DELETE' }, 'writes'], [{ method: 'PATCH' }, 'writes'], [{ method: 'GET' }, undefined]],
  },
  {
    name: 'an exact path matches only that path',
    rules: [{ name: 'models', match: { path: { exact: '/v1/models' } } }],
    requests: [
      [{ path: '/v1/models' }, 'models'],
      [{ path: '/v1/models/' }, undefined],
      [{ path: '/v1/models/gpt-4o' }, undefined],
      [{ path: '/v1/model' }, undefined],
      [{ path: '/V1/models' }, undefined],
    ],
  },
  {
    name: 'a path prefix matches the prefix itself and everything below it',
    rules: [{ name: 'v1', match: { path: { prefix: '/v1/' } } }],
    requests: [[{ path: '/v1/' }, 'v1'], [{ path: '/v1/chat/completions' }, 'v1'], [{ path: '/v1' }, undefined], [{ path: '/v2/chat' }, undefined]],
  },
  {
    name: 'a path regex matches unanchored unless anchored by the config',
    rules: [
      { name: 'anchored', match: { path: { regex: '^/v1/(chat/)?completions$' } } },
      { name: 'loose', match: { path: { regex: 'embed' } } },
    ],
    requests: [
      [{ path: '/v1/completions' }, 'anchored'],
      [{ path: '/v1/chat/completions' }, 'anchored'],
      [{ path: '/v1/chat/completions/x' }, undefined],
      [{ path: '/v1/embeddings' }, 'loose'],
      [{ path: '/x/embed' }, 'loose'],
    ],
  },
  {
    name: 'a header exact match compares the value case-sensitively and fails when the header is missing',
    rules: [{ name: 'acme', match: { headers: [{ name: 'X-Tenant', exact: 'acme' }] } }],
    requests: [
      [{ headers: { 'x-tenant': 'acme' } }, 'acme'],
      [{ headers: { 'x-tenant': 'Acme' } }, undefined],
      [{ headers: { 'x-tenant': 'acme-2' } }, undefined],
      [{ headers: {} }, undefined],
    ],
  },
  {
    name: 'a header regex match needs the header and a matching value',
    rules: [{ name: 'beta', match: { headers: [{ name: 'x-features', regex: '(^|,)beta(,|$)' }] } }],
    requests: [
      [{ headers: { 'x-features': 'beta' } }, 'beta'],
      [{ headers: { 'x-features': 'alpha,beta' } }, 'beta'],
      [{ headers: { 'x-features': 'betamax' } }, undefined],
      [{ headers: {} }, undefined],
    ],
  },
  {
    name: 'header present and absent test only whether the header exists',
    rules: [
      { name: 'debug', match: { headers: [{ name: 'x-debug', present: true }] } },
      { name: 'anonymous', match: { headers: [{ name: 'authorization', absent: true }] } },
    ],
    requests: [
      [{ headers: { 'x-debug': '' } }, 'debug'],
      [{ headers: { 'x-debug': '0', authorization: 'Bearer x' } }, 'debug'],
      [{ headers: {} }, 'anonymous'],
      [{ headers: { authorization: 'Bearer x' } }, undefined],
    ],
  },
  {
    name: 'several header conditions must all hold',
    rules: [{ name: 'both', match: { headers: [{ name: 'x-a', exact: '1' }, { name: 'x-b', present: true }] } }],
    requests: [
      [{ headers: { 'x-a': '1', 'x-b': 'y' } }, 'both'],
      [{ headers: { 'x-a': '1' } }, undefined],
      [{ headers: { 'x-b': 'y' } }, undefined],
    ],
  },
  {
    name: 'a query exact match compares the decoded value of the first occurrence',
    rules: [{ name: 'v2', match: { query: [{ name: 'api-version', exact: '2024-10 preview' }] } }],
    requests: [
      [{ query: 'api-version=2024-10%20preview' }, 'v2'],
      [{ query: 'a=1&api-version=2024-10+preview' }, 'v2'],
      [{ query: 'api-version=2024-10+preview&api-version=other' }, 'v2'],
      [{ query: 'api-version=other&api-version=2024-10+preview' }, undefined],
      [{ query: '' }, undefined],
    ],
  },
  {
    name: 'a query regex match needs the parameter and a matching value',
    rules: [{ name: 'dated', match: { query: [{ name: 'v', regex: '^\\d{4}-\\d{2}$' }] } }],
    requests: [[{ query: 'v=2024-10' }, 'dated'], [{ query: 'v=latest' }, undefined], [{ query: 'w=2024-10' }, undefined]],
  },
  {
    name: 'query present and absent test only whether the parameter exists',
    rules: [
      { name: 'debug', match: { query: [{ name: 'debug', present: true }] } },
      { name: 'no-stream', match: { query: [{ name: 'stream', absent: true }] } },
    ],
    requests: [
      [{ query: 'debug' }, 'debug'],
      [{ query: 'debug=&stream=1' }, 'debug'],
      [{ query: '' }, 'no-stream'],
      [{ query: 'stream=0' }, undefined],
    ],
  },
  {
    name: 'a model exact match compares the body model and never matches a request without one',
    rules: [{ name: 'gpt-4o', match: { model: { exact: 'gpt-4o' } } }],
    requests: [[{ model: 'gpt-4o' }, 'gpt-4o'], [{ model: 'gpt-4o-mini' }, undefined], [{}, undefined]],
  },
  {
    name: 'a model glob supports * and ? and matches the whole model name',
    rules: [
      { name: 'claude', match: { model: { glob: 'claude-?-haiku' } } },
      { name: 'gpt-4o-family', match: { model: { glob: 'gpt-4o*' } } },
      { name: 'minis', match: { model: { glob: '*mini*' } } },
      { name: 'dotted', match: { model: { glob: 'llama3.1:*b' } } },
    ],
    requests: [
      [{ model: 'claude-3-haiku' }, 'claude'],
      [{ model: 'claude-35-haiku' }, undefined],
      [{ model: 'gpt-4o' }, 'gpt-4o-family'],
      [{ model: 'gpt-4o-mini' }, 'gpt-4o-family'],
      [{ model: 'o4-mini-high' }, 'minis'],
      [{ model: 'llama3.1:70b' }, 'dotted'],
      [{ model: 'llama3x1:70b' }, undefined],
      [{ model: 'xgpt-4o' }, undefined],
    ],
  },
  {
    name: 'a model glob of * still needs a model',
    rules: [{ name: 'any-model', match: { model: { glob: '*' } } }],
    requests: [[{ model: '' }, 'any-model'], [{ model: 'x' }, 'any-model'], [{}, undefined]],
  },
  {
    name: 'an empty match accepts every request',
    rules: [{ name: 'all' }],
    requests: [[{ method: 'GET', path: '/' }, 'all'], [{ path: '/anything', query: 'x=1', headers: { a: 'b' }, model: 'm' }, 'all']],
  },
  {
    name: 'the first matching rule wins even when a later exact-path rule also matches',
    rules: [
      { name: 'prefix-first', match: { path: { prefix: '/v1/' } } },
      { name: 'exact-later', match: { path: { exact: '/v1/chat/completions' } } },
    ],
    requests: [[{ path: '/v1/chat/completions' }, 'prefix-first'], [{ path: '/v1/models' }, 'prefix-first']],
  },
  {
    name: 'an earlier regex rule wins over a later exact-path rule for the same path',
    rules: [
      { name: 'regex-first', match: { path: { regex: 'completions$' } } },
      { name: 'exact-later', match: { path: { exact: '/v1/chat/completions' } } },
    ],
    requests: [[{ path: '/v1/chat/completions' }, 'regex-first']],
  },
  {
    name: 'an exact-path rule whose other conditions fail falls through to later rules in order',
    rules: [
      { name: 'exact-gpt', match: { path: { exact: '/v1/chat/completions' }, model: { glob: 'gpt-*' } } },
      { name: 'exact-debug', match: { path: { exact: '/v1/chat/completions' }, headers: [{ name: 'x-debug', present: true }] } },
      { name: 'prefix', match: { path: { prefix: '/v1/chat' } } },
      { name: 'exact-any', match: { path: { exact: '/v1/chat/completions' } } },
      { name: 'catch-all' },
    ],
    requests: [
      [{ model: 'gpt-4o' }, 'exact-gpt'],
      [{ model: 'claude', headers: { 'x-debug': '1' } }, 'exact-debug'],
      [{ model: 'claude' }, 'prefix'],
      [{ path: '/v1/chat' }, 'prefix'],
      [{ path: '/v1/embeddings' }, 'catch-all'],
    ],
  },
  {
    name: 'a path-less rule before exact-path rules still applies to those paths',
    rules: [
      { name: 'get-anything', match: { methods: ['GET'] } },
      { name: 'models', match: { path: { exact: '/v1/models' } } },
    ],
    requests: [[{ method: 'GET', path: '/v1/models' }, 'get-anything'], [{ method: 'POST', path: '/v1/models' }, 'models']],
  },
  {
    name: 'a request on a path no exact rule names skips exact rules and tries the others in order',
    rules: [
      { name: 'exact', match: { path: { exact: '/v1/models' } } },
      { name: 'regex', match: { path: { regex: '^/v1/models/' } } },
      { name: 'prefix', match: { path: { prefix: '/v1/' } } },
    ],
    requests: [[{ path: '/v1/models/gpt-4o' }, 'regex'], [{ path: '/v1/files' }, 'prefix'], [{ path: '/v2' }, undefined]],
  },
  {
    name: 'all kinds of condition on one rule must hold together',
    rules: [
      {
        name: 'everything',
        match: {
          methods: ['POST'],
          path: { prefix: '/v1/' },
          headers: [{ name: 'x-tenant', exact: 'acme' }],
          query: [{ name: 'beta', present: true }],
          model: { glob: 'gpt-*' },
        },
      },
    ],
    requests: [
      [{ headers: { 'x-tenant': 'acme' }, query: 'beta=1', model: 'gpt-4o' }, 'everything'],
      [{ method: 'GET', headers: { 'x-tenant': 'acme' }, query: 'beta=1', model: 'gpt-4o' }, undefined],
      [{ path: '/v2/x', headers: { 'x-tenant': 'acme' }, query: 'beta=1', model: 'gpt-4o' }, undefined],
      [{ headers: {}, query: 'beta=1', model: 'gpt-4o' }, undefined],
      [{ headers: { 'x-tenant': 'acme' }, query: '', model: 'gpt-4o' }, undefined],
      [{ headers: { 'x-tenant': 'acme' }, query: 'beta=1', model: 'claude' }, undefined],
    ],
  },
]

for (const impl of implementations) {
  describe(`route matching (${impl.name})`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const m = impl.build(c.rules)
        try {
          const actual = c.requests.map(([r]) => [r, m.match(head(r))])
          assert.deepStrictEqual(actual, c.requests)
        } finally {
          await m.close()
        }
      })
    }
  })
}

// ---- randomized agreement ------------------------------------------------------------------


const PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/models', '/v1/models/gpt-4o', '/v1/embeddings', '/v2/chat/completions', '/', '/v1/']
const PREFIXES = ['/v1', '/v1/', '/v1/chat', '/v2', '/']
const PATH_REGEXES = ['^/v1/(chat/)?completions$', 'models', '^/v[12]/', 'embed']
const METHODS = ['GET', 'POST', 'PUT', 'DELETE']
const HEADERS = ['x-tenant', 'x-user', 'x-debug']
const VALUES = ['acme', 'beta', 'alpha,beta', '']
const QUERY_NAMES = ['v', 'debug', 'stream']
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o4-mini', 'claude-3-haiku', 'llama3.1:8b']
const MODEL_GLOBS = ['gpt-4o*', '*mini', 'claude-?-haiku', '*', 'gpt-?o', 'llama*:*b']

function generate(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[(rand() * xs.length) | 0]
  const maybe = (p: number) => rand() < p
  const keyed = (names: readonly string[]) => {
    const name = pick(names)
    switch ((rand() * 4) | 0) {
      case 0: return { name, exact: pick(VALUES) }
      case 1: return { name, regex: pick(['^a', 'beta', '^$', 'c?m']) }
      case 2: return { name, present: true }
      default: return { name, absent: true }
    }
  }
  const rule = (i: number): Rule => {
    const match: Record<string, unknown> = {}
    if (maybe(0.25)) match.methods = [...new Set([pick(METHODS), pick(METHODS)])]
    if (maybe(0.8)) {
      const k = rand()
      match.path = k < 0.5 ? { exact: pick(PATHS) } : k < 0.75 ? { prefix: pick(PREFIXES) } : { regex: pick(PATH_REGEXES) }
    }
    if (maybe(0.35)) match.headers = Array.from({ length: 1 + ((rand() * 2) | 0) }, () => keyed(HEADERS))
    if (maybe(0.25)) match.query = Array.from({ length: 1 + ((rand() * 2) | 0) }, () => keyed(QUERY_NAMES))
    if (maybe(0.3)) match.model = maybe(0.5) ? { exact: pick(MODELS) } : { glob: pick(MODEL_GLOBS) }
    return { name: `r${i}`, match }
  }
  const request = (): RequestHead => {
    const headers: Record<string, string> = {}
    for (const h of HEADERS) if (maybe(0.4)) headers[h] = pick(VALUES)
    const query = QUERY_NAMES.filter(() => maybe(0.3)).map((q) => (maybe(0.3) ? q : `${q}=${encodeURIComponent(pick(VALUES))}`)).join('&')
    return { method: pick(METHODS), path: maybe(0.9) ? pick(PATHS) : `/v1/x${(rand() * 10) | 0}`, query, headers, model: maybe(0.8) ? pick(MODELS) : undefined }
  }
  return { rules: Array.from({ length: 4 + ((rand() * 12) | 0) }, (_, i) => rule(i)), request }
}

const TENANTS = ['acme', 'beta', 'team-a', 'team-b']
const LABELS = ['tier', 'region']
const CLAIMS = ['role', 'org.plan', 'level']

/** The base generator's tables and requests, with identity conditions and identities added. */
function generateWithIdentity(rand: () => number) {
  const base = generate(rand)
  const pick = <T>(xs: readonly T[]): T => xs[(rand() * xs.length) | 0]
  const maybe = (p: number) => rand() < p
  const keyed = (names: readonly string[]) => {
    const name = pick(names)
    switch ((rand() * 4) | 0) {
      case 0: return { name, exact: pick(['free', 'pro', 'admin', '3']) }
      case 1: return { name, regex: pick(['^p', 'r', '^[0-9]+$']) }
      case 2: return { name, present: true }
      default: return { name, absent: true }
    }
  }
  const rules = base.rules.map((r) => {
    const match = { ...(r.match as Record<string, unknown>) }
    if (maybe(0.4)) match.tenant = maybe(0.5) ? { exact: pick(TENANTS) } : { glob: pick(['team-*', '*a*', 'acm?']) }
    if (maybe(0.3)) match.tenant_labels = [keyed(LABELS)]
    if (maybe(0.3)) match.claims = [keyed(CLAIMS)]
    return { ...r, match }
  })
  const request = (): RequestHead => {
    const h = base.request()
    if (maybe(0.2)) return h
    const labels: Record<string, string> = {}
    for (const l of LABELS) if (maybe(0.5)) labels[l] = pick(['free', 'pro', 'eu'])
    const claims = maybe(0.5) ? { role: pick(['admin', 'user']), org: { plan: pick(['pro', 'free']) }, level: pick([3, 'x', true]) } : undefined
    return { ...h, identity: who(pick(TENANTS), labels, claims) }
  }
  return { rules, request }
}

test('the compiled table and the linear oracle agree on generated identity conditions (tenant, labels, claims)', async () => {
  const disagreements: unknown[] = []
  let matched = 0
  let total = 0
  for (let seed = 1; seed <= 30; seed++) {
    const { rules, request } = generateWithIdentity(prng(1000 + seed))
    const compiled = implementations[0].build(rules)
    const oracle = implementations[1].build(rules)
    try {
      for (let i = 0; i < 100; i++) {
        const h = request()
        const [a, b] = [compiled.match(h), oracle.match(h)]
        total++
        if (a !== undefined) matched++
        if (a !== b && disagreements.length < 5) disagreements.push({ seed, request: h, compiled: a, oracle: b, rules })
      }
    } finally {
      await compiled.close()
      await oracle.close()
    }
  }
  assert.deepStrictEqual(disagreements, [])
  assert.ok(matched > total * 0.1 && matched < total * 0.98, `matched ${matched} of ${total}`)
})

test('the compiled table and the linear oracle agree on generated tables and requests', async () => {
  const disagreements: unknown[] = []
  let matched = 0
  let total = 0
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed)
    const { rules, request } = generate(rand)
    const compiled = implementations[0].build(rules)
    const oracle = implementations[1].build(rules)
    try {
      for (let i = 0; i < 100; i++) {
        const h = request()
        const [a, b] = [compiled.match(h), oracle.match(h)]
        total++
        if (a !== undefined) matched++
        if (a !== b && disagreements.length < 5) disagreements.push({ seed, request: h, compiled: a, oracle: b, rules })
      }
    } finally {
      await compiled.close()
      await oracle.close()
    }
  }
  assert.deepStrictEqual(disagreements, [])
  // Guard against a generator that never matches anything (agreement on `undefined` proves little).
  assert.ok(matched > total * 0.3 && matched < total * 0.98, `matched ${matched} of ${total}`)
})
