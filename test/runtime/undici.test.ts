/**
 * src/runtime/undici.ts loads undici's parts from their own files; they must be the very objects
 * undici's index exports, or `instanceof` checks and error codes would quietly diverge.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as undici from 'undici'
import { Pool, buildConnector, errors, request } from '../../src/runtime/undici.js'
import { startHttpServer } from '../support/http-server.js'

test("Pool, buildConnector and errors are undici's own", () => {
  assert.equal(Pool, undici.Pool)
  assert.equal(buildConnector, undici.buildConnector)
  assert.equal(errors, undici.errors)
})

test("request is undici's top-level request, global dispatcher included", async (t) => {
  const server = await startHttpServer((_req, res) => res.end('pong'))
  t.after(() => server.close())
  const res = await request(`${server.origin}/ping`)
  assert.equal(res.statusCode, 200)
  assert.equal(await res.body.text(), 'pong')
})
