/**
 * The gRPC client library and the Open Inference Protocol service definition, loaded on first use:
 * a worker whose config has no `kserve_grpc` cluster never pays for @grpc/grpc-js (≈ 3 MB of heap
 * per isolate). The .proto ships in the package's `proto/` folder, found from this module's place
 * (dist/src/runtime/providers/kserve/ in a build).
 */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type * as Grpc from '@grpc/grpc-js'

const require = createRequire(import.meta.url)
const PROTO = join('proto', 'inference', 'grpc_service.proto')

/** The generated client constructor of `inference.GRPCInferenceService`. */
export type InferenceClientConstructor = new (address: string, credentials: Grpc.ChannelCredentials, options?: Grpc.ChannelOptions) => InferenceClient

/** The RPCs Switchyard calls, as @grpc/grpc-js's dynamic client exposes them. */
export interface InferenceClient extends Grpc.Client {
  ServerLive(req: object, metadata: Grpc.Metadata, options: Grpc.CallOptions, cb: (err: Grpc.ServiceError | null, res?: { live: boolean }) => void): Grpc.ClientUnaryCall
  ModelReady(req: { name: string; version: string }, metadata: Grpc.Metadata, options: Grpc.CallOptions, cb: (err: Grpc.ServiceError | null, res?: { ready: boolean }) => void): Grpc.ClientUnaryCall
  ModelInfer(req: object, metadata: Grpc.Metadata, options: Grpc.CallOptions, cb: (err: Grpc.ServiceError | null, res?: any) => void): Grpc.ClientUnaryCall
  ModelStreamInfer(metadata: Grpc.Metadata, options: Grpc.CallOptions): Grpc.ClientDuplexStream<object, any>
}

export interface LoadedGrpc {
  readonly grpc: typeof Grpc
  readonly Client: InferenceClientConstructor
  /** The service definition, for servers (the test and example mocks). */
  readonly service: Grpc.ServiceDefinition
}

let loaded: LoadedGrpc | undefined

/** Where grpc_service.proto is: the first `proto/` above this module that holds it. */
export function protoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, PROTO)
    if (existsSync(candidate)) return candidate
    const up = dirname(dir)
    if (up === dir) throw new Error(`kserve_grpc: ${PROTO} not found above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
}

export function loadGrpc(): LoadedGrpc {
  if (loaded) return loaded
  const grpc: typeof Grpc = require('@grpc/grpc-js')
  const protoLoader: typeof import('@grpc/proto-loader') = require('@grpc/proto-loader')
  // keepCase: the proto's own field names (model_name, bytes_contents); oneofs: `parameter_choice`
  // says which InferParameter field is set; longs as numbers (token counts, shapes).
  const definition = protoLoader.loadSync(protoPath(), { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true })
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: InferenceClientConstructor & { service: Grpc.ServiceDefinition } } }
  const Client = pkg.inference.GRPCInferenceService
  loaded = { grpc, Client, service: Client.service }
  return loaded
}

/** `http://h:8001` → plaintext HTTP/2, `https://h:8001` → TLS with the system's roots. */
export function grpcTarget(origin: string): { address: string; tls: boolean } {
  const u = new URL(origin)
  const tls = u.protocol === 'https:'
  return { address: `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || (tls ? '443' : '80')}`, tls }
}
