/**
 * UwsDownstream over a fake uWS HttpResponse that records every call: status and headers go out
 * once, with the first body bytes; every write is corked; nothing touches the response after it was
 * aborted or ended; backpressure and onWritable pass through.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { HttpResponse } from 'uWebSockets.js'
import { UwsDownstream } from '../../../src/runtime/http/downstream.js'

/** A stand-in for uWS's HttpResponse: records calls as strings, and whether each ran corked. */
class FakeResponse {
  readonly calls: string[] = []
  /** What write() returns: false is uWS's backpressure. */
  writeResult = true
  private corked = false
  private abortHandler: (() => void) | undefined
  private writableHandler: ((offset: number) => boolean) | undefined

  private record(call: string): void {
    this.calls.push(this.corked ? call : `${call} (uncorked)`)
  }
  onAborted(h: () => void): this {
    this.abortHandler = h
    return this
  }
  onWritable(h: (offset: number) => boolean): this {
    this.writableHandler = h
    this.record('onWritable')
    return this
  }
  cork(cb: () => void): this {
    this.corked = true
    try {
      cb()
    } finally {
      this.corked = false
    }
    return this
  }
  writeStatus(s: string): this {
    this.record(`status ${s}`)
    return this
  }
  writeHeader(k: string, v: string): this {
    this.record(`header ${k}: ${v}`)
    return this
  }
  write(chunk: Uint8Array | string): boolean {
    this.record(`write ${String(chunk)}`)
    return this.writeResult
  }
  end(chunk?: Uint8Array | string, close?: boolean): this {
    this.record(`end ${chunk === undefined ? '-' : String(chunk)}${close ? ' close' : ''}`)
    return this
  }
  close(): this {
    this.calls.push('close')
    return this
  }
  // ---- the client's side ----
  abort(): void {
    this.abortHandler?.()
  }
  drain(): boolean | undefined {
    return this.writableHandler?.(0)
  }
}

function downstream(closeAfter = false): { res: FakeResponse; ds: UwsDownstream } {
  const res = new FakeResponse()
  return { res, ds: new UwsDownstream(res as unknown as HttpResponse, () => closeAfter) }
}

const JSON_HEAD = [['content-type', 'application/json']] as const

test('writeHead alone sends nothing', () => {
  const { res, ds } = downstream()
  ds.writeHead(201, JSON_HEAD)
  assert.deepStrictEqual(res.calls, [])
})

test('end sends the status line, the headers and the body together, corked', () => {
  const { res, ds } = downstream()
  ds.writeHead(404, JSON_HEAD)
  ds.end('{}')
  assert.deepStrictEqual(res.calls, ['status 404 Not Found', 'header content-type: application/json', 'end {}'])
})

test('a status node does not know gets the reason Unknown', () => {
  const { res, ds } = downstream()
  ds.writeHead(599, [])
  ds.end()
  assert.deepStrictEqual(res.calls, ['status 599 Unknown', 'end -'])
})

test('without writeHead the answer is a 200', () => {
  const { res, ds } = downstream()
  ds.end('ok')
  assert.deepStrictEqual(res.calls, ['status 200 OK', 'end ok'])
})

test('status and headers go out once, with the first write', () => {
  const { res, ds } = downstream()
  ds.writeHead(200, [['content-type', 'text/event-stream']])
  ds.write('a')
  ds.write('b')
  ds.end()
  assert.deepStrictEqual(res.calls, ['status 200 OK', 'header content-type: text/event-stream', 'write a', 'write b', 'end -'])
})

test('a whole answer is ended with close when the connection must close after it', () => {
  const { res, ds } = downstream(true)
  ds.end('bye')
  assert.deepStrictEqual(res.calls.at(-1), 'end bye close')
})

test('a chunked answer is never ended with close (uWS would drop the terminator)', () => {
  const { res, ds } = downstream(true)
  ds.write('a')
  ds.end('b')
  assert.deepStrictEqual(res.calls.at(-1), 'end b')
})

test('write reports backpressure when uWS buffered the chunk', () => {
  const { res, ds } = downstream()
  res.writeResult = false
  assert.equal(ds.write('a'), false)
})

test('the onWritable callback runs once when uWS drains, and tells uWS the drain was handled', () => {
  const { res, ds } = downstream()
  let calls = 0
  ds.onWritable(() => calls++)
  assert.deepStrictEqual([res.drain(), res.drain(), calls], [true, true, 1])
})

test('the client going away marks the downstream aborted and runs the onAbort callback once', () => {
  const { res, ds } = downstream()
  let calls = 0
  ds.onAbort(() => calls++)
  res.abort()
  res.abort()
  assert.deepStrictEqual([ds.aborted, calls], [true, 1])
})

test('a later onAbort registration replaces the earlier one', () => {
  const { res, ds } = downstream()
  const seen: string[] = []
  ds.onAbort(() => seen.push('first'))
  ds.onAbort(() => seen.push('second'))
  res.abort()
  assert.deepStrictEqual(seen, ['second'])
})

test('after the client went away nothing touches the response', () => {
  const { res, ds } = downstream()
  res.abort()
  assert.equal(ds.write('a'), true)
  ds.onWritable(() => {})
  ds.end('b')
  ds.close()
  ds.refuse(413, [], 'too large')
  assert.deepStrictEqual(res.calls, [])
})

test('after end nothing touches the response, and a late abort runs no callback', () => {
  const { res, ds } = downstream()
  let aborted = 0
  ds.onAbort(() => aborted++)
  ds.end('done')
  const before = res.calls.length
  ds.write('late')
  ds.end('again')
  ds.close()
  res.abort()
  assert.deepStrictEqual([res.calls.length - before, aborted], [0, 0])
})

test('refuse sends a whole response and closes the connection, replacing a head not yet sent', () => {
  const { res, ds } = downstream()
  ds.writeHead(200, JSON_HEAD)
  ds.refuse(413, [['content-type', 'text/plain']], 'too large')
  assert.deepStrictEqual(res.calls, ['status 413 Payload Too Large', 'header content-type: text/plain', 'end too large close'])
  assert.equal(ds.aborted, true)
})

test('close tears the connection down once', () => {
  const { res, ds } = downstream()
  ds.close()
  ds.close()
  assert.deepStrictEqual([res.calls, ds.aborted], [['close'], true])
})
