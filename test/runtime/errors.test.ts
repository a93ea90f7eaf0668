import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { repoRoot } from '../support/repo-root.js'
import { anthropicErrorType, errorReply, openAIErrorType, RuntimeErrors, statusErrorReply, type RuntimeErrorCode } from '../../src/runtime/errors.js'

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) sources(p, out)
    else if (name.endsWith('.ts')) out.push(p)
  }
  return out
}

test('the OpenAI and Anthropic error JSON shapes are written only in the catalog', () => {
  // An object literal `error: { message…` or `error: { type…` is an error body (a type declaration, `message: string;`, is not).
  const shape = /\berror:\s*\{\s*(?:message|type)(?:\s*,|:\s*(?!string\b)[^;]*,)/
  const writers = sources(join(repoRoot, 'src', 'runtime'))
    .map((f) => relative(repoRoot, f))
    .filter((f) => f !== join('src', 'runtime', 'errors.ts') && shape.test(readFileSync(join(repoRoot, f), 'utf8')))
  assert.deepStrictEqual(writers, [])
})

test('a catalog code answers with its status and types in both protocols', () => {
  for (const code of Object.keys(RuntimeErrors) as RuntimeErrorCode[]) {
    const e = RuntimeErrors[code]
    const openai = errorReply('openai', code, 'm')
    const anthropic = errorReply('anthropic', code, 'm')
    assert.deepStrictEqual([openai.status, JSON.parse(openai.body.toString()).error.type], [e.status, e.openaiType], code)
    assert.deepStrictEqual([anthropic.status, JSON.parse(anthropic.body.toString())], [e.status, { type: 'error', error: { type: e.anthropicType, message: 'm' } }], code)
  }
})

test('a fixed message is the default; param reaches OpenAI error JSON only', () => {
  assert.deepStrictEqual(JSON.parse(errorReply('openai', 'SY_CORS_ORIGIN_NOT_ALLOWED').body.toString()), {
    error: { message: RuntimeErrors.SY_CORS_ORIGIN_NOT_ALLOWED.message, type: 'invalid_request_error', param: null, code: 'cors_origin_not_allowed' },
  })
  assert.deepStrictEqual(JSON.parse(errorReply('openai', 'SY_TRANSLATE_UNSUPPORTED', 'n=2 is not supported', 'n').body.toString()), {
    error: { message: 'n=2 is not supported', type: 'invalid_request_error', param: 'n', code: null },
  })
  assert.deepStrictEqual(JSON.parse(errorReply('anthropic', 'SY_TRANSLATE_UNSUPPORTED', 'no', 'n').body.toString()), { type: 'error', error: { type: 'invalid_request_error', message: 'no' } })
})

test('a status-typed error takes its types from the status', () => {
  const r = statusErrorReply('openai', 'SY_FAULT_INJECTED', 502, 'down')
  assert.deepStrictEqual([r.status, JSON.parse(r.body.toString())], [502, { error: { message: 'down', type: 'server_error', param: null, code: 'fault_injected' } }])
  const a = statusErrorReply('anthropic', 'SY_FAULT_INJECTED', 429, 'slow')
  assert.deepStrictEqual([a.status, JSON.parse(a.body.toString())], [429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow' } }])
})

test('a JS plugin\'s reply and a WASM plugin\'s local reply type every status alike, as a relayed error is typed', () => {
  const body = (r: { body: Buffer }) => JSON.parse(r.body.toString())
  for (let status = 400; status <= 599; status++) {
    const js = { openai: statusErrorReply('openai', 'SY_PLUGIN_REPLY', status, 'm'), anthropic: statusErrorReply('anthropic', 'SY_PLUGIN_REPLY', status, 'm') }
    const wasm = { openai: statusErrorReply('openai', 'SY_WASM_LOCAL_REPLY', status, 'm'), anthropic: statusErrorReply('anthropic', 'SY_WASM_LOCAL_REPLY', status, 'm') }
    assert.deepStrictEqual([js.openai.status, body(js.openai).error.type], [status, openAIErrorType(status)], `openai ${status}`)
    assert.deepStrictEqual([wasm.openai.status, body(wasm.openai).error.type], [status, openAIErrorType(status)], `openai ${status}`)
    assert.deepStrictEqual(body(js.anthropic), { type: 'error', error: { type: anthropicErrorType(status), message: 'm' } }, `anthropic ${status}`)
    assert.deepStrictEqual(body(wasm.anthropic), body(js.anthropic), `anthropic ${status}`)
  }
})

test('a status maps to the error type Anthropic documents for it', () => {
  const documented: Record<number, string> = {
    400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
    413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error', 529: 'overloaded_error',
  }
  for (const [status, type] of Object.entries(documented)) assert.equal(anthropicErrorType(Number(status)), type, status)
  // The rest fall back to the class's type: 4xx invalid_request_error, 5xx api_error.
  assert.deepStrictEqual([409, 422, 502, 503].map(anthropicErrorType), ['invalid_request_error', 'invalid_request_error', 'api_error', 'api_error'])
})
