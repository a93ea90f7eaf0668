/**
 * In-process dispatch: dispatch(snapshot, listener, request, downstream) against `provider: mock`
 * clusters with an in-memory Downstream. No sockets.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { eventually, quietPeriod } from '../../support/eventually.js'
import { dispatch, type IncomingRequest } from '../../../src/runtime/http/dispatch.js'
import type { Snapshot } from '../../../src/runtime/types.js'
import { MemoryDownstream, type MemoryDownstreamOptions } from '../../support/memory-downstream.js'
import { builtSnapshot } from '../../support/built-snapshot.js'

const CONFIG = `
admin: { port: 0 }
listeners:
  - name: public
    port: 8080
    route_table: main
    filters: [tag-response, req-headers]
  - name: messages
    port: 8081
    route_table: none
    protocol: anthropic
routes:
  - name: main
    rules:
      - name: ping
        match: { path: { exact: /ping }, methods: [GET] }
        direct_response: { status: 200, body: pong }
      - name: teapot
        match: { path: { exact: /teapot } }
        direct_response: { status: 418, body: '{"short":"stout"}', content_type: application/json }
      - name: rewrite
        match: { path: { exact: /v1/chat/completions }, model: { glob: "alias-*" } }
        cluster: echo
        model_rewrite: gpt-4o-rewritten
      - name: rewrite-any
        match: { path: { exact: /rewrite/v1/chat/completions } }
        cluster: echo
        model_rewrite: gpt-4o-rewritten
      - name: no-filters
        match: { path: { exact: /v1/chat/completions }, headers: [{ name: x-no-filters, present: true }] }
        cluster: echo
        filter_overrides:
          tag-response: { disabled: true }
          req-headers: { disabled: true }
      - name: override
        match: { path: { exact: /v1/chat/completions }, headers: [{ name: x-override, present: true }] }
        cluster: echo
        filter_overrides:
          tag-response:
            config:
              response: { set: [{ name: x-served-by, value: override }] }
      - name: stream
        match: { path: { exact: /v1/chat/completions }, headers: [{ name: x-stream, present: true }] }
        cluster: streamer
      - name: slow-stream
        match: { path: { exact: /v1/chat/completions }, headers: [{ name: x-slow, present: true }] }
        cluster: slow-streamer
      - name: sluggish
        match: { path: { exact: /v1/chat/completions }, headers: [{ name: x-sluggish, present: true }] }
        cluster: sluggish
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        cluster: echo
      - name: v1
        match: { path: { prefix: /v1/ } }
        cluster: echo
  - name: none
    rules: []
clusters:
  - name: echo
    provider: mock
  - name: streamer
    provider: mock
    mock: { reply: "one two three four five six", chunks: 3 }
  - name: slow-streamer
    provider: mock
    mock: { reply: "abcdefgh", chunks: 8, chunk_delay: 5ms }
  - name: sluggish
    provider: mock
    mock: { latency: 20ms }
filters:
  - name: tag-response
    type: headers
    config:
      response:
        remove: [cache-control]
        set: [{ name: X-Served-By, value: switchyard }]
        add: [{ name: x-gateway-hop, value: "1" }]
  - name: req-headers
    type: headers
    config:
      request:
        remove: [x-debug]
        set: [{ name: x-team, value: search }]
        add: [{ name: x-trace, value: gw }]
`

function setup(t: TestContext): Snapshot {
  return builtSnapshot(t, 'dispatch.yaml', CONFIG)
}

interface Req {
  method?: string
  path?: string
  query?: string
  headers?: Record<string, string>
  /** An object is sent as JSON with content-type application/json. */
  body?: object | string
}

function send(snap: Snapshot, req: Req, opts: { port?: number; downstream?: MemoryDownstreamOptions; onDone?: () => void } = {}) {
  const headers: Record<string, string> = { ...(req.headers ?? {}) }
  let body: Buffer | undefined
  if (typeof req.body === 'string') body = Buffer.from(req.body)
  else if (req.body !== undefined) {
    body = Buffer.from(JSON.stringify(req.body))
    headers['content-type'] ??= 'application/json'
  }
  const incoming: IncomingRequest = { method: req.method ?? 'POST', path: req.path ?? '/v1/chat/completions', query: req.query ?? '', headers, body }
  const down = new MemoryDownstream(opts.downstream)
  const ctx = dispatch(snap, snap.listeners.get(opts.port ?? 8080)!, incoming, down, opts.onDone)
  return { ctx, down }
}

const chat = (model: string, extra: object = {}) => ({ model, messages: [{ role: 'user', content: 'hello there' }], ...extra })

/** The content deltas and the terminal events of an OpenAI chat completion stream. */
function streamSummary(down: MemoryDownstream) {
  const data = down.sseData()
  const events = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d))
  return {
    contents: events.filter((e) => e.choices[0]?.delta?.content !== undefined).map((e) => e.choices[0].delta.content),
    finishReasons: events.filter((e) => e.choices[0]?.finish_reason).map((e) => e.choices[0].finish_reason),
    last: data[data.length - 1],
    count: data.length,
  }
}

// ---- errors ----

test('an unmatched request gets a 404 in OpenAI error JSON', async (t) => {
  const { down } = send(setup(t), { method: 'GET', path: '/nope' })
  await down.done
  assert.deepStrictEqual(
    { status: down.status, type: down.header('content-type'), body: down.json(), ended: down.ended },
    {
      status: 404,
      type: 'application/json',
      body: { error: { message: 'no route for GET /nope', type: 'invalid_request_error', param: null, code: 'sy_no_route' } },
      ended: true,
    },
  )
})

test('an unmatched request names the model it carried', async (t) => {
  const { down } = send(setup(t), { path: '/v2/chat/completions', body: chat('gpt-4o') })
  await down.done
  assert.equal(down.json().error.message, "no route for POST /v2/chat/completions with model 'gpt-4o'")
})

test('an unmatched request on an anthropic listener gets Anthropic error JSON', async (t) => {
  const { down } = send(setup(t), { path: '/v1/messages', body: { model: 'claude' } }, { port: 8081 })
  await down.done
  assert.deepStrictEqual({ status: down.status, body: down.json() }, {
    status: 404,
    body: { type: 'error', error: { type: 'not_found_error', message: "no route for POST /v1/messages with model 'claude'" } },
  })
})

test('the listener response filters apply to a 404', async (t) => {
  const { down } = send(setup(t), { method: 'GET', path: '/nope' })
  await down.done
  assert.deepStrictEqual(filterHeaders(down.headers), [['content-type', 'application/json'], ['x-served-by', 'switchyard'], ['x-gateway-hop', '1']])
})

test('a JSON body that does not parse gets a 400 before any route is matched', async (t) => {
  const { ctx, down } = send(setup(t), { body: '{"model": "gpt-4o",', headers: { 'content-type': 'application/json' } })
  await down.done
  assert.deepStrictEqual(
    { status: down.status, type: down.json().error.type, code: down.json().error.code, route: ctx.route },
    { status: 400, type: 'invalid_request_error', code: 'sy_bad_json', route: undefined },
  )
  assert.match(down.json().error.message, /^request body is not valid JSON: /)
})

test('a JSON-looking body sent with a form content type is parsed as JSON', async (t) => {
  const { ctx, down } = send(setup(t), { body: JSON.stringify(chat('alias-x')), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  await down.done
  assert.deepStrictEqual({ route: ctx.route?.name, status: down.status }, { route: 'rewrite', status: 200 })
})

test('a non-JSON body with a non-JSON content type is left alone and matches without a model', async (t) => {
  const { ctx, down } = send(setup(t), { path: '/v1/audio/transcriptions', body: 'RIFF....', headers: { 'content-type': 'multipart/form-data; boundary=x' } })
  await down.done
  assert.deepStrictEqual({ route: ctx.route?.name, json: ctx.json, model: ctx.head.model }, { route: 'v1', json: undefined, model: undefined })
})

test('the mock provider answers 404 for anything but POST chat completions and GET models', async (t) => {
  const { down } = send(setup(t), { method: 'GET', path: '/v1/files' })
  await down.done
  assert.deepStrictEqual({ status: down.status, code: down.json().error.code }, { status: 404, code: 'sy_unsupported' })
})

// ---- direct responses ----

test('a direct response answers with its status, body and default content type', async (t) => {
  const { ctx, down } = send(setup(t), { method: 'GET', path: '/ping' })
  await down.done
  assert.deepStrictEqual(
    { route: ctx.route?.name, status: down.status, type: down.header('content-type'), body: down.text(), ended: down.ended, cluster: ctx.cluster },
    { route: 'ping', status: 200, type: 'text/plain; charset=utf-8', body: 'pong', ended: true, cluster: undefined },
  )
})

test('a direct response uses its configured content type and status', async (t) => {
  const { down } = send(setup(t), { method: 'GET', path: '/teapot' })
  await down.done
  assert.deepStrictEqual({ status: down.status, type: down.header('content-type'), body: down.json() }, { status: 418, type: 'application/json', body: { short: 'stout' } })
})

test('dispatch calls onDone exactly once when the response ends', async (t) => {
  let calls = 0
  const { down } = send(setup(t), { method: 'GET', path: '/ping' }, { onDone: () => calls++ })
  await down.done
  await tick()
  assert.equal(calls, 1)
})

// ---- headers filter ----

test('the headers filter removes, sets and appends request headers before the request goes upstream', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o'), headers: { 'x-debug': '1', 'x-trace': 'client', 'x-team': 'ads' } })
  await down.done
  assert.deepStrictEqual(filterHeaders(ctx.headers), { 'x-trace': 'client, gw', 'x-team': 'search', 'content-type': 'application/json' })
})

test('the headers filter adds request headers that were absent', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o') })
  await down.done
  assert.deepStrictEqual(filterHeaders(ctx.headers), { 'content-type': 'application/json', 'x-team': 'search', 'x-trace': 'gw' })
})

test('the headers filter removes, sets and adds response headers', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-stream': '1' } })
  await down.done
  assert.deepStrictEqual(filterHeaders(down.headers), [['content-type', 'text/event-stream'], ['x-served-by', 'switchyard'], ['x-gateway-hop', '1']])
})

test('a direct response passes through the response filters too', async (t) => {
  const { down } = send(setup(t), { method: 'GET', path: '/ping' })
  await down.done
  assert.deepStrictEqual(filterHeaders(down.headers), [['content-type', 'text/plain; charset=utf-8'], ['x-served-by', 'switchyard'], ['x-gateway-hop', '1']])
})

test('a route can disable listener filters: request and response headers stay untouched', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o'), headers: { 'x-no-filters': '1', 'x-debug': '1' } })
  await down.done
  assert.deepStrictEqual(
    { route: ctx.route?.name, chain: ctx.chain.names, requestHeaders: filterHeaders(ctx.headers), responseHeaders: filterHeaders(down.headers) },
    {
      route: 'no-filters',
      chain: [],
      requestHeaders: { 'x-no-filters': '1', 'x-debug': '1', 'content-type': 'application/json' },
      responseHeaders: [['content-type', 'application/json']],
    },
  )
})

test('a route can run a listener filter with its own config', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o'), headers: { 'x-override': '1' } })
  await down.done
  assert.deepStrictEqual(
    { chain: ctx.chain.names, responseHeaders: filterHeaders(down.headers) },
    { chain: ['tag-response', 'req-headers'], responseHeaders: [['content-type', 'application/json'], ['x-served-by', 'override']] },
  )
})

// ---- mock provider, model rewrite ----

test('the mock provider echoes the request model in a chat completion', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o') })
  await down.done
  const body = down.json()
  assert.deepStrictEqual(
    { route: ctx.route?.name, status: down.status, object: body.object, model: body.model, content: body.choices[0].message.content, finish: body.choices[0].finish_reason },
    { route: 'chat', status: 200, object: 'chat.completion', model: 'gpt-4o', content: 'Mock reply to: hello there', finish: 'stop' },
  )
})

test('model_rewrite changes the model the upstream sees', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('alias-fast') })
  await down.done
  assert.deepStrictEqual(
    { route: ctx.route?.name, echoed: down.json().model, json: ctx.json.model, body: JSON.parse(ctx.body!.toString()).model, matchedOn: ctx.head.model },
    { route: 'rewrite', echoed: 'gpt-4o-rewritten', json: 'gpt-4o-rewritten', body: 'gpt-4o-rewritten', matchedOn: 'alias-fast' },
  )
})

test('model_rewrite on a JSON null body answers instead of throwing out of dispatch', async (t) => {
  const snap = setup(t)
  let outcome: string
  let down: MemoryDownstream | undefined
  try {
    down = send(snap, { path: '/rewrite/v1/chat/completions', body: 'null', headers: { 'content-type': 'application/json' } }).down
    outcome = 'returned'
  } catch (e) {
    outcome = `threw ${(e as Error).constructor.name}: ${(e as Error).message}`
  }
  assert.equal(outcome, 'returned')
  await down!.done
  assert.deepStrictEqual({ ended: down!.ended, hasStatus: typeof down!.status }, { ended: true, hasStatus: 'number' })
})

test('the endpoint in-flight count returns to zero after the response', async (t) => {
  const snap = setup(t)
  const { ctx, down } = send(snap, { body: chat('gpt-4o') })
  await down.done
  assert.deepStrictEqual({ inflight: ctx.endpoint!.stats.inflight, requests: ctx.endpoint!.stats.requests }, { inflight: 0, requests: 1 })
})

// ---- streaming ----

test('mock streaming sends N content chunks, a stop chunk and [DONE]', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-stream': '1' } })
  await down.done
  assert.deepStrictEqual(streamSummary(down), {
    contents: ['one two t', 'hree four', ' five six'],
    finishReasons: ['stop'],
    last: '[DONE]',
    count: 5,
  })
})

test('the first streamed delta carries the assistant role and every chunk names the model', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o-mini', { stream: true }), headers: { 'x-stream': '1' } })
  await down.done
  const events = down.sseData().filter((d) => d !== '[DONE]').map((d) => JSON.parse(d))
  assert.deepStrictEqual(
    { role: events[0].choices[0].delta.role, laterRoles: events.slice(1).map((e) => e.choices[0].delta.role), models: [...new Set(events.map((e) => e.model))], objects: [...new Set(events.map((e) => e.object))] },
    { role: 'assistant', laterRoles: [undefined, undefined, undefined], models: ['gpt-4o-mini'], objects: ['chat.completion.chunk'] },
  )
})

test('each SSE event of the mock stream is written as its own chunk', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-stream': '1' } })
  await down.done
  assert.deepStrictEqual(down.chunks.map((c) => [c.last, c.data.toString().endsWith('\n\n')]), [[false, true], [false, true], [false, true], [false, true], [true, true]])
})

test('stream_options.include_usage adds a usage chunk with no choices before [DONE]', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true, stream_options: { include_usage: true } }), headers: { 'x-stream': '1' } })
  await down.done
  const data = down.sseData()
  const usage = JSON.parse(data[data.length - 2])
  assert.deepStrictEqual({ choices: usage.choices, usage: usage.usage, last: data[data.length - 1] }, {
    choices: [],
    usage: { prompt_tokens: 2, completion_tokens: 6, total_tokens: 8 },
    last: '[DONE]',
  })
})

test('a congested client pauses the stream until it drains', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-stream': '1' } }, { downstream: { congestAfterWrites: 1 } })
  const seen: number[] = [down.chunks.length]
  await tick()
  seen.push(down.chunks.length)
  for (let i = 0; i < 10 && !down.ended; i++) {
    down.drain()
    await tick()
    seen.push(down.chunks.length)
  }
  assert.deepStrictEqual({ seen, ended: down.ended, summary: streamSummary(down) }, {
    seen: [1, 1, 2, 3, 5],
    ended: true,
    summary: { contents: ['one two t', 'hree four', ' five six'], finishReasons: ['stop'], last: '[DONE]', count: 5 },
  })
})

test('content chunks are never written while the client is congested', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-slow': '1' } }, { downstream: { congestAfterWrites: 2 } })
  const drainer = setInterval(() => down.drain(), 3)
  t.after(() => clearInterval(drainer))
  await down.done
  const contents = streamSummary(down).contents
  assert.deepStrictEqual({ contents: contents.join(''), writesWhileCongested: down.writesWhileCongested, misuse: down.misuse }, { contents: 'abcdefgh', writesWhileCongested: 0, misuse: [] })
})

test('chunk_delay spaces streamed chunks in time', async (t) => {
  const { down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-slow': '1' } })
  await down.done
  const at = down.chunks.map((c) => c.at)
  assert.ok(at[at.length - 1] - at[0] >= 7 * 4, `8 chunks 5 ms apart took ${(at[at.length - 1] - at[0]).toFixed(1)} ms`)
})

test('a client that goes away stops the stream and frees the endpoint', async (t) => {
  let done = 0
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o', { stream: true }), headers: { 'x-slow': '1' } }, { onDone: () => done++ })
  await eventually(() => down.chunks.length >= 2, undefined, 'two chunks', 1)
  down.abort()
  const written = down.chunks.length
  // The teardown runs in the background: poll for it; then a fixed wait for what must NOT come
  // (a chunk written after the abort), six of the 5 ms chunk delays.
  await eventually(() => done === 1 && ctx.finished && ctx.endpoint!.stats.inflight === 0, undefined, 'the stream to be torn down')
  await quietPeriod(30)
  assert.deepStrictEqual(
    { written: down.chunks.length, ended: down.ended, finished: ctx.finished, inflight: ctx.endpoint!.stats.inflight, done, misuse: down.misuse },
    { written, ended: false, finished: true, inflight: 0, done: 1, misuse: [] },
  )
})

test('a client that leaves before a delayed answer gets nothing and frees the endpoint', async (t) => {
  let done = 0
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o'), headers: { 'x-sluggish': '1' } }, { onDone: () => done++ })
  down.abort()
  // As above: poll for the teardown, then wait a fixed time for an answer that must not be written.
  await eventually(() => done === 1 && ctx.finished && ctx.endpoint!.stats.inflight === 0, undefined, 'the request to be torn down')
  await quietPeriod(40)
  assert.deepStrictEqual(
    { status: down.status, written: down.chunks.length, finished: ctx.finished, inflight: ctx.endpoint!.stats.inflight, done },
    { status: undefined, written: 0, finished: true, inflight: 0, done: 1 },
  )
})

// ---- context ----

test('the context records the matched route, cluster and endpoint', async (t) => {
  const { ctx, down } = send(setup(t), { body: chat('gpt-4o') })
  await down.done
  assert.deepStrictEqual(
    { route: ctx.route?.name, cluster: ctx.cluster?.name, endpoint: ctx.endpoint?.url, status: ctx.status, finished: ctx.finished },
    { route: 'chat', cluster: 'echo', endpoint: 'mock://echo', status: 200, finished: true },
  )
})

/** The headers a test is about: without the request id and routing headers every answer carries (issue 12). */
function filterHeaders<T extends [string, string][] | Record<string, string>>(h: T): T {
  const drop = (k: string) => k === 'x-request-id' || k.startsWith('x-switchyard-')
  if (Array.isArray(h)) return h.filter(([k]) => !drop(k)) as T
  return Object.fromEntries(Object.entries(h).filter(([k]) => !drop(k))) as T
}
