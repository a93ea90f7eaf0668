/**
 * A real gRPC server (@grpc/grpc-js, HTTP/2 on a local port) implementing the Open Inference
 * Protocol's `inference.GRPCInferenceService` the way Triton's vLLM backend does: the prompt in
 * the BYTES tensor `text_input`, `stream` and `sampling_parameters` (JSON), the answer in
 * `text_output`, token counts in `num_input_tokens` / `num_output_tokens`, and
 * `ModelStreamInfer` with one response per chunk. It records what it received and can be told to
 * fail the next calls with a gRPC status, to stall, or to break a stream after its first chunk.
 */
import type * as Grpc from '@grpc/grpc-js'
import { loadGrpc } from '../../src/runtime/providers/kserve/grpc-loader.js'

export interface KserveCall {
  readonly rpc: 'ModelInfer' | 'ModelStreamInfer'
  readonly model: string
  readonly id: string
  /** Input tensors by name: BYTES as strings, others as their first value. */
  readonly inputs: Record<string, unknown>
  readonly metadata: Record<string, string>
  /** Milliseconds until the deadline the client sent (undefined: none). */
  readonly deadlineInMs: number | undefined
}

export interface KserveServerOptions {
  reply?: string
  /** Pieces of a streamed answer. Default 3. */
  chunks?: number
  delayMs?: number
  /** `cumulative`: each streamed response holds the text so far (older backends). */
  streamOutput?: 'delta' | 'cumulative'
  /** Models ModelReady says are ready. Default: every model. */
  readyModels?: string[]
  /** Leave the token-count outputs out. */
  noTokenCounts?: boolean
  /** Reject ModelInfer as Triton does for decoupled models. */
  decoupledOnly?: boolean
}

export type KserveFault =
  | { kind: 'status'; code: number; details?: string; retryAfter?: string }
  /** Never answer (the client's deadline or timeout ends the call). */
  | { kind: 'stall' }
  /** Send the first streamed chunk, then fail the stream with this status. */
  | { kind: 'break'; code: number }

export interface KserveServer {
  readonly url: string
  readonly port: number
  readonly calls: KserveCall[]
  /** Calls the server saw cancelled by the client (the gateway's abort). */
  readonly cancelled: () => number
  live: boolean
  failNext(fault: KserveFault, times?: number): void
  close(): Promise<void>
}

export async function startKserveServer(opts: KserveServerOptions = {}): Promise<KserveServer> {
  const { grpc, service } = loadGrpc()
  const server = new grpc.Server()
  const calls: KserveCall[] = []
  const faults: KserveFault[] = []
  let cancelled = 0
  const reply = opts.reply ?? 'Hello from the KServe mock.'
  const chunks = opts.chunks ?? 3
  const delayMs = opts.delayMs ?? 5
  const state = { live: true }
  const takeFault = () => faults.shift()

  const record = (rpc: KserveCall['rpc'], req: any, call: Grpc.ServerUnaryCall<any, any> | Grpc.ServerDuplexStream<any, any>) => {
    const inputs: Record<string, unknown> = {}
    for (const t of req.inputs ?? []) {
      const c = t.contents ?? {}
      inputs[t.name] = t.datatype === 'BYTES'
        ? (c.bytes_contents ?? []).map((b: Buffer) => b.toString('utf8')).join('\u0000')
        : (c.bool_contents ?? c.int_contents ?? c.fp32_contents ?? c.uint64_contents ?? c.int64_contents ?? [])[0]
    }
    const md: Record<string, string> = {}
    for (const [k, v] of Object.entries(call.metadata.getMap())) md[k] = String(v)
    const deadline = call.getDeadline()
    const deadlineInMs = deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : undefined
    calls.push({ rpc, model: req.model_name, id: req.id, inputs, metadata: md, deadlineInMs })
    return inputs
  }

  const tokensOf = (s: string) => s.split(/\s+/).filter(Boolean).length
  const output = (text: string, prompt: string, generated: number, final = false) => ({
    model_name: 'm', id: '',
    ...(final && { parameters: { triton_final_response: { bool_param: true } } }),
    outputs: [
      { name: 'text_output', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from(text)] } },
      ...(opts.noTokenCounts ? [] : [
        { name: 'num_input_tokens', datatype: 'INT32', shape: [1], contents: { int_contents: [tokensOf(prompt)] } },
        { name: 'num_output_tokens', datatype: 'INT32', shape: [1], contents: { int_contents: [generated] } },
      ]),
    ],
  })
  const statusError = (code: number, details = 'mock failure', retryAfter?: string) => {
    const metadata = new grpc.Metadata()
    if (retryAfter !== undefined) metadata.set('retry-after', retryAfter)
    return Object.assign(new Error(details), { code, details, metadata })
  }
  const split = (text: string) => {
    const size = Math.max(1, Math.ceil(text.length / chunks))
    const out: string[] = []
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
    return out
  }

  server.addService(service, {
    ServerLive(_call: any, cb: Grpc.sendUnaryData<any>) {
      cb(null, { live: state.live })
    },
    ServerReady(_call: any, cb: Grpc.sendUnaryData<any>) {
      cb(null, { ready: state.live })
    },
    ModelReady(call: Grpc.ServerUnaryCall<any, any>, cb: Grpc.sendUnaryData<any>) {
      cb(null, { ready: opts.readyModels === undefined || opts.readyModels.includes(call.request.name) })
    },
    ModelInfer(call: Grpc.ServerUnaryCall<any, any>, cb: Grpc.sendUnaryData<any>) {
      const inputs = record('ModelInfer', call.request, call)
      call.on('cancelled', () => cancelled++)
      if (opts.decoupledOnly) return cb(statusError(grpc.status.UNIMPLEMENTED, 'ModelInfer RPC doesn\'t support models with decoupled transaction policy'))
      const fault = takeFault()
      if (fault?.kind === 'status') return cb(statusError(fault.code, fault.details, fault.retryAfter))
      if (fault?.kind === 'stall') return
      const prompt = String(inputs.text_input ?? '')
      setTimeout(() => cb(null, output(reply, prompt, tokensOf(reply))), delayMs)
    },
    ModelStreamInfer(call: Grpc.ServerDuplexStream<any, any>) {
      let open = true
      call.on('cancelled', () => {
        cancelled++
        open = false
      })
      call.on('data', (req: any) => {
        const inputs = record('ModelStreamInfer', req, call)
        const fault = takeFault()
        if (fault?.kind === 'status') return void call.emit('error', statusError(fault.code, fault.details, fault.retryAfter))
        if (fault?.kind === 'stall') return
        const prompt = String(inputs.text_input ?? '')
        const pieces = inputs.stream === true ? split(reply) : [reply]
        let sent = ''
        let i = 0
        const step = () => {
          if (!open) return
          if (i === pieces.length) {
            call.write({ infer_response: output('', prompt, opts.streamOutput === 'cumulative' ? tokensOf(reply) : 0, true) })
            return call.end()
          }
          if (fault?.kind === 'break' && i === 1) return void call.emit('error', statusError(fault.code, 'broken stream'))
          const piece = pieces[i++]
          sent += piece
          const generated = opts.streamOutput === 'cumulative' ? tokensOf(sent) : i === pieces.length ? tokensOf(reply) : 0
          call.write({ infer_response: output(opts.streamOutput === 'cumulative' ? sent : piece, prompt, generated) })
          setTimeout(step, delayMs)
        }
        setTimeout(step, delayMs)
      })
    },
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  )
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    cancelled: () => cancelled,
    get live() { return state.live },
    set live(v: boolean) { state.live = v },
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault)
    },
    async close() {
      server.forceShutdown()
    },
  }
}
