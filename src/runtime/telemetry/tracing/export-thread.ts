/**
 * The export thread of one worker's tracer: takes encoded traces from the SharedArrayBuffer ring the
 * worker fills (span-ring.ts), puts a batch's envelope in front of them and POSTs it to the
 * collector (otlp-http.ts), one export in flight at a time. The socket writes, the HTTP client and
 * the batch copy run here, not on the thread that serves requests.
 *
 * A batch leaves when `maxBatchSize` spans are waiting, when the ring is half full (large traces:
 * captured content), when the oldest waiting span was first seen `intervalMs` ago, or when the
 * worker asks for a flush; the thread looks every POLL_MS, and the worker's messages and the push
 * that takes the ring past half full wake it at once through the ring's SIGNAL cell. One export
 * request body is at most MAX_EXPORT_BYTES: a batch that would pass it is cut there and the rest
 * follows at once, in the next request. The counts of exported and failed spans go to the tracer host's shared
 * cells (they outlive this thread); failures are reported to the worker (at most once a minute), which
 * logs them through its own scrubbed logger.
 *
 * Messages from the worker: `{ type: 'flush', id }` (answered `{ type: 'flushed', id }` once the ring
 * is empty and nothing is in flight), `{ type: 'close' }` (flush, close the sockets, exit).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { MAX_EXPORT_BYTES, OtlpHttpSender } from './otlp-http.js'
import { requestHead, type Envelope } from './otlp-proto.js'
import { COUNTER_EXPORTED, COUNTER_FAILED, SIGNAL, SpanRing } from './span-ring.js'

export interface ExportThreadData {
  readonly ring: SharedArrayBuffer
  /** BigInt64 cells: [exported, failed], shared with the worker's TracerHost. */
  readonly counts: SharedArrayBuffer
  readonly endpoint: string
  readonly headers: Readonly<Record<string, string>>
  readonly exportTimeoutMs: number
  readonly maxBatchSize: number
  readonly intervalMs: number
  readonly envelope: Envelope
}

/** What the export thread tells its worker. */
export type FromExportThread = { type: 'flushed'; id: number } | { type: 'failed'; error: string }

const FAILURE_REPORT_INTERVAL_MS = 60_000
/**
 * How often the thread looks at the ring. The worker signals it only when a push takes the ring
 * past half full (a request otherwise copies bytes and adds two counters), so a full batch waits
 * at most this long; an idle look costs microseconds.
 */
const POLL_MS = 20

/** `Atomics.waitAsync` (Node 16+, typed from lib es2024 on, which this project does not target). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> }
}).waitAsync

function run(data: ExportThreadData): void {
  const port = parentPort!
  const ring = new SpanRing(data.ring)
  const counts = new BigInt64Array(data.counts)
  const env: Envelope = { resource: Buffer.from(data.envelope.resource), scope: Buffer.from(data.envelope.scope) }
  const head = (len: number) => requestHead(env, len)
  // The head of the largest body is the longest one (its length varints are): what is left is for records.
  const maxRecordBytes = MAX_EXPORT_BYTES - head(MAX_EXPORT_BYTES).length
  const sender = new OtlpHttpSender(data.endpoint, data.headers, data.exportTimeoutMs)
  const flushes: number[] = []
  const poll = Math.min(POLL_MS, data.intervalMs)
  let closing = false
  let lastFailureReport = 0

  /** Sends one batch; resolves whether it was cut at MAX_EXPORT_BYTES with records left behind it. */
  const exportOne = (): Promise<boolean> => {
    const batch = ring.take(data.maxBatchSize, head, maxRecordBytes)
    if (batch === undefined) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      sender.send(batch.body, (ok, error) => {
        Atomics.add(counts, ok ? COUNTER_EXPORTED : COUNTER_FAILED, BigInt(batch.spans))
        if (!ok) {
          const now = Date.now()
          if (now - lastFailureReport >= FAILURE_REPORT_INTERVAL_MS) {
            lastFailureReport = now
            port.postMessage({ type: 'failed', error: (error ?? 'export failed').slice(0, 200) } satisfies FromExportThread)
          }
        }
        resolve(batch.cut)
      })
    })
  }

  const sleep = async (ms: number): Promise<void> => {
    const w = waitAsync(ring.header, SIGNAL, Atomics.load(ring.header, SIGNAL), ms)
    if (w.async) await w.value
  }

  const loop = async (): Promise<void> => {
    /** When this thread first saw the spans now waiting (0: none waiting). */
    let since = 0
    /** The last batch was cut at its byte limit: the rest goes now. */
    let cut = false
    for (;;) {
      const waiting = ring.spans
      if (waiting === 0) {
        since = 0
        cut = false
        for (const id of flushes.splice(0)) port.postMessage({ type: 'flushed', id } satisfies FromExportThread)
        if (closing) break
        await sleep(poll)
        continue
      }
      const now = performance.now()
      if (since === 0) since = now
      const due = now - since >= data.intervalMs
      if (waiting >= data.maxBatchSize || due || cut || ring.halfFull || closing || flushes.length > 0) {
        cut = await exportOne()
        // What is left after a full batch is younger than the batch was; after a due one, as old.
        if (!due) since = ring.spans > 0 ? performance.now() : 0
        continue
      }
      await sleep(Math.min(poll, data.intervalMs - (now - since)))
    }
    sender.close()
    port.close()
  }

  port.on('message', (m: { type: 'flush'; id: number } | { type: 'close' }) => {
    if (m.type === 'flush') flushes.push(m.id)
    else closing = true
    ring.wake()
  })
  void loop()
}

run(workerData as ExportThreadData)
