#!/usr/bin/env node
// A stand-in for Triton's vLLM backend, for examples/kserve-grpc.yaml: a real gRPC server speaking the Open
// Inference Protocol (inference.GRPCInferenceService from proto/inference/grpc_service.proto) that answers
// every prompt with a fixed sentence, one ModelStreamInfer response per word when asked to stream.
//   node examples/kserve-mock-server.mjs            listens on 127.0.0.1:8001 (PORT=… to change)
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const grpc = require('@grpc/grpc-js')
const protoLoader = require('@grpc/proto-loader')
const proto = fileURLToPath(new URL('../proto/inference/grpc_service.proto', import.meta.url))
const definition = protoLoader.loadSync(proto, { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true })
const { inference } = grpc.loadPackageDefinition(definition)

const REPLY = 'Hello from the KServe mock: this answer came over gRPC.'
const tokens = (s) => s.split(/\s+/).filter(Boolean).length
const input = (req, name) => req.inputs?.find((t) => t.name === name)?.contents
const response = (req, text, generated, final) => ({
  model_name: req.model_name, id: req.id,
  ...(final && { parameters: { triton_final_response: { bool_param: true } } }),
  outputs: [
    { name: 'text_output', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from(text)] } },
    { name: 'num_input_tokens', datatype: 'INT32', shape: [1], contents: { int_contents: [tokens(input(req, 'text_input')?.bytes_contents?.[0]?.toString() ?? '')] } },
    { name: 'num_output_tokens', datatype: 'INT32', shape: [1], contents: { int_contents: [generated] } },
  ],
})

const server = new grpc.Server()
server.addService(inference.GRPCInferenceService.service, {
  ServerLive: (_call, cb) => cb(null, { live: true }),
  ServerReady: (_call, cb) => cb(null, { ready: true }),
  ModelReady: (_call, cb) => cb(null, { ready: true }),
  ModelInfer: (call, cb) => cb(null, response(call.request, REPLY, tokens(REPLY), false)),
  ModelStreamInfer(call) {
    call.on('data', (req) => {
      const words = input(req, 'stream')?.bool_contents?.[0] ? REPLY.split(/(?<= )/) : [REPLY]
      let i = 0
      const next = () => {
        if (call.cancelled) return
        if (i === words.length) {
          call.write({ infer_response: response(req, '', 0, true) })
          return call.end()
        }
        call.write({ infer_response: response(req, words[i++], 1, false) })
        setTimeout(next, 30)
      }
      next()
    })
  },
})
const port = Number(process.env.PORT ?? 8001)
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err
  console.log(`kserve mock: inference.GRPCInferenceService on 127.0.0.1:${bound}`)
})
