/**
 * undici 7.16's HTTP/2 client keeps a stream slot busy after the server resets a stream; the
 * Client from createH2Client gives it back. Both against a real node:http2 server (h2c).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http2 from 'node:http2'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { createH2Client } from '../../../src/runtime/upstream/h2-client.js'

async function resettingServer() {
  const server = http2.createServer()
  server.on('stream', (s) => {
    s.on('error', () => {})
    s.resume()
    s.on('end', () => {
      if (s.sentHeaders) return
      s.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

const h2c = (opts: any, cb: any) => {
  const s = connect({ host: opts.hostname, port: Number(opts.port) })
  s.on('connect', () => {
    ;(s as any).alpnProtocol = 'h2'
    cb(null, s)
  })
  s.on('error', (e) => cb(e, null))
  return s
}

/** One request through undici's new handler hooks, as the gateway's upstream calls are made. */
function send(pool: Pool): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0
    pool.dispatch({ path: '/', method: 'POST', body: 'x' }, {
      onRequestStart: () => {},
      onResponseStart: (_c, s) => void (status = s),
      onResponseData: () => {},
      onResponseEnd: () => resolve(status),
      onResponseError: (_c, e) => reject(e),
    })
  })
}

async function resetsThenClose(factory?: typeof createH2Client): Promise<{ running: number; closed: boolean }> {
  const { server, origin } = await resettingServer()
  const pool = new Pool(origin, { connections: 1, allowH2: true, pipelining: 3, connect: h2c as any, ...(factory && { factory }) })
  for (let i = 0; i < 3; i++) {
    await assert.rejects(send(pool), (e: any) => e.code === 'ERR_HTTP2_STREAM_ERROR')
  }
  const running = pool.stats.running
  const closed = await Promise.race([pool.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))])
  if (!closed) await pool.destroy()
  server.close()
  return { running, closed }
}

test("undici's own client keeps a slot per reset stream (the bug the repair is for)", async () => {
  assert.deepEqual(await resetsThenClose(), { running: 3, closed: false })
})

test('the repaired client gives every reset stream its slot back and closes', async () => {
  assert.deepEqual(await resetsThenClose(createH2Client), { running: 0, closed: true })
})
