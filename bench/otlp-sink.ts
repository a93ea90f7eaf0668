// The bench's OTLP/HTTP collector: accepts every export request (reads the body, answers 200) and
// counts what it got, nothing else, so it costs the box as little as a collector can. Prints its port.
//   node dist/bench/otlp-sink.js [port]     (GET /stats → {"requests":…,"bytes":…})
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

let requests = 0
let bytes = 0
const server = createServer((req, res) => {
  if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, bytes }))
  req.on('data', (d: Buffer) => (bytes += d.length))
  req.on('end', () => {
    requests++
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log((server.address() as AddressInfo).port))
