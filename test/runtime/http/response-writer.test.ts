/**
 * The ResponseWriter against an in-memory client: writes batched until the tick ends (a body that
 * arrives whole leaves in one end()), backpressure passed to the source, and the filters' onChunk
 * hooks seeing every body byte once.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { ResponseWriter, type WriteSource } from '../../../src/runtime/http/response-writer.js'
import type { Filter, RequestContext } from '../../../src/runtime/types.js'
import { MemoryDownstream, type MemoryDownstreamOptions } from '../../support/memory-downstream.js'

function setup(opts: MemoryDownstreamOptions = {}) {
  const down = new MemoryDownstream(opts)
  const hooked: string[] = []
  const tap: Filter = { name: 'tap', onChunk: (_ctx, c) => void hooked.push(Buffer.from(c).toString()) }
  const ctx = {
    downstream: down, finished: false, attempt: undefined, onDone: undefined, listener: {},
    chain: { names: ['tap'], onRequest: [], onResponse: [], onChunk: [tap], onComplete: [] },
  } as unknown as RequestContext
  const source: WriteSource & { events: string[] } = {
    events: [],
    pause: () => void source.events.push('pause'),
    resume: () => void source.events.push('resume'),
    crashed: (e) => void source.events.push(`crashed ${(e as Error).message}`),
  }
  return { down, ctx, source, hooked, writer: new ResponseWriter(ctx, source) }
}

const chunks = (down: MemoryDownstream) => down.chunks.map((c) => `${c.last ? 'end' : 'write'} ${c.data}`)

test('a body written and ended in one tick leaves in one end(), so it can carry a content-length', () => {
  const { down, writer, hooked } = setup()
  writer.write(Buffer.from('a'))
  writer.write(Buffer.from('b'))
  writer.end(Buffer.from('c'))
  assert.deepStrictEqual([chunks(down), hooked], [['end abc'], ['abc']])
})

test('writes of one tick go out together when it ends; later ones in their own tick', async () => {
  const { down, writer } = setup()
  writer.write(Buffer.from('a'))
  writer.write(Buffer.from('b'))
  const sameTick = chunks(down)
  await tick()
  writer.write(Buffer.from('c'))
  await tick()
  writer.end()
  assert.deepStrictEqual([sameTick, chunks(down), down.ended], [[], ['write ab', 'write c'], true])
})

test('flush() sends the batch at once (what a stream was promised before its error event)', () => {
  const { down, writer } = setup()
  writer.write(Buffer.from('a'))
  writer.flush()
  assert.deepStrictEqual([chunks(down), writer.pending], [['write a'], false])
})

test('the onChunk hooks see each body byte once, the last piece included', async () => {
  const { writer, hooked } = setup()
  writer.write(Buffer.from('a'))
  await tick()
  writer.end(Buffer.from('z'))
  assert.deepStrictEqual(hooked, ['a', 'z'])
})

test('a congested client pauses the source until it is writable again', async () => {
  const { down, writer, source } = setup({ congestAfterWrites: 1 })
  writer.write(Buffer.from('a'))
  await tick()
  const congested = [...source.events]
  down.drain()
  assert.deepStrictEqual([congested, source.events, down.writesWhileCongested], [['pause'], ['pause', 'resume'], 0])
})

test('many writers in one tick each flush their own batch', async () => {
  const one = setup()
  const two = setup()
  one.writer.write(Buffer.from('1'))
  two.writer.write(Buffer.from('2'))
  one.writer.write(Buffer.from('1'))
  await tick()
  assert.deepStrictEqual([chunks(one.down), chunks(two.down)], [['write 11'], ['write 2']])
})

test('a hook that throws while a batch is flushed fails the source, not the process', async () => {
  const { ctx, writer, source } = setup()
  ;(ctx.chain.onChunk as Filter[])[0] = { name: 'bad', onChunk: () => { throw new Error('hook') } }
  writer.write(Buffer.from('a'))
  await tick()
  assert.deepStrictEqual(source.events, ['crashed hook'])
})

test('nothing is written once the request finished (the client went away)', async () => {
  const { ctx, down, writer } = setup()
  writer.write(Buffer.from('a'))
  ctx.finished = true
  await tick()
  assert.deepStrictEqual(chunks(down), [])
})
