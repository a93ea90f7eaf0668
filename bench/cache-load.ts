// The cache bench's two pieces of load, shared by bench/cache.ts (throughput and CPU per request) and
// bench/cache-profile.ts (where a miss's time goes): row (d)'s config with the cache filter, and a wrk
// script whose every request is a new question.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AUTH_HEADER, MODEL } from './payloads.js'

/**
 * Row (d)'s config with the cache filter on its listener; its memory tier holds 64 MiB
 * (`CACHE_MEMORY=1mb` for a tier that stays small: what retaining the entries costs the miss path;
 * `CACHE_OPS=embeddings`: the filter on the listener but not for chat, so it only costs its hooks).
 */
export function withCache(config: string, memory = process.env.CACHE_MEMORY ?? '64mb'): string {
  const out = config.replace(/route_table: main \}/, 'route_table: main, filters: [answers] }')
  if (out === config) throw new Error('bench config changed shape: cannot add the cache filter')
  const ops = process.env.CACHE_OPS === undefined ? '' : `, operations: [${process.env.CACHE_OPS}]`
  return `${out}filters:\n  - { name: answers, type: cache, config: { only_when: always, ttl: 10m, memory: { max_bytes: ${memory} }${ops} } }\n`
}

/**
 * A wrk script whose every request asks a new question, across its threads and across runs: the
 * run's start second, the thread's number and a counter in the message. (A counter and
 * math.random alone repeat: every thread, and every run of the script, starts them afresh with the
 * same seed, so most "0 %" requests of an earlier version were hits.)
 */
export function writeVaryingScript(dir: string, name: string): string {
  const file = join(dir, `${name}.lua`)
  writeFileSync(file, `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "${AUTH_HEADER[1]}"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local run = tostring(os.time())
local prefix = ${JSON.stringify(JSON.stringify({ model: MODEL.json, messages: [{ role: 'user', content: 'Say hello to the benchmark in one short sentence. #' }] }).split('. #')[0] + '. #')}
local suffix = ${JSON.stringify('"}]}')}
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, prefix .. run .. "-" .. tostring(tid) .. "-" .. tostring(n) .. suffix)
end
`)
  return file
}
