/**
 * Profiling on demand (admin POST /debug/profile and /debug/heap): a V8 CPU profile or a heap
 * snapshot of this worker thread, through its own inspector (`node:inspector` Session connects
 * to the isolate it is created in). The CPU profile samples while the worker keeps serving; a heap
 * snapshot stops this worker's event loop while V8 writes it (hundreds of ms per 100 MB of heap).
 *
 * Results leave as ArrayBuffers so the worker can transfer them to the main thread without a copy,
 * and they are capped: past `maxBytes` the result is dropped and the caller told so.
 *
 * @example
 * const r = await takeProfile({ kind: 'cpu', seconds: 5, maxBytes: 64 << 20 })
 * if (r.ok) port.postMessage({ ...r }, r.chunks)
 */
import { Session } from 'node:inspector/promises'

export interface ProfileRequest {
  readonly kind: 'cpu' | 'heap'
  /** CPU profiles only: how long to sample. */
  readonly seconds: number
  readonly maxBytes: number
}

export type ProfileResult =
  | { readonly ok: true; readonly chunks: ArrayBuffer[]; readonly bytes: number }
  | { readonly ok: false; readonly error: string; readonly tooLarge?: boolean }

/** One ArrayBuffer holding exactly `text`'s UTF-8 bytes (never a slice of Buffer's shared pool). */
function ownBuffer(text: string): ArrayBuffer {
  const out = new Uint8Array(Buffer.byteLength(text))
  Buffer.from(out.buffer).write(text)
  return out.buffer
}

export async function takeProfile(req: ProfileRequest): Promise<ProfileResult> {
  const session = new Session()
  session.connect()
  try {
    return req.kind === 'cpu' ? await cpuProfile(session, req) : await heapSnapshot(session, req)
  } catch (e) {
    return { ok: false, error: `inspector: ${(e as Error).message}` }
  } finally {
    session.disconnect()
  }
}

async function cpuProfile(session: Session, req: ProfileRequest): Promise<ProfileResult> {
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  await new Promise((r) => setTimeout(r, req.seconds * 1000))
  const { profile } = await session.post('Profiler.stop')
  await session.post('Profiler.disable')
  const text = JSON.stringify(profile)
  if (text.length > req.maxBytes) return { ok: false, tooLarge: true, error: `the CPU profile is larger than ${req.maxBytes} bytes` }
  const b = ownBuffer(text)
  return { ok: true, chunks: [b], bytes: b.byteLength }
}

async function heapSnapshot(session: Session, req: ProfileRequest): Promise<ProfileResult> {
  const chunks: ArrayBuffer[] = []
  let bytes = 0
  let over = false
  // Each chunk goes off the JS heap at once: the snapshot must not grow the heap it describes.
  session.on('HeapProfiler.addHeapSnapshotChunk', (m) => {
    if (over) return
    const b = ownBuffer(m.params.chunk)
    bytes += b.byteLength
    if (bytes > req.maxBytes) {
      over = true
      chunks.length = 0
    } else chunks.push(b)
  })
  await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  if (over) return { ok: false, tooLarge: true, error: `the heap snapshot is larger than ${req.maxBytes} bytes` }
  return { ok: true, chunks, bytes }
}
