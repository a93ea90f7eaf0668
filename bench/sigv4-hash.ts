// What SigV4 signing costs on the worker's event loop, by body size.
//   npm run build && node dist/bench/sigv4-hash.js
// Signing hashes the whole body (x-amz-content-sha256 / the canonical request's payload hash), so
// a large prompt makes the SHA-256 implementation the cost; this prints ms per signature.
import { performance } from 'node:perf_hooks'
import { createSigV4Signer } from '../src/runtime/providers/sigv4.js'

const signer = createSigV4Signer('us-east-1', 'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
const origin = 'https://bedrock-runtime.us-east-1.amazonaws.com'
const path = '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse'
const headers = { 'content-type': 'application/json' }

/** Median of 7 batches: the machine is shared, and one noisy batch should not move the number. */
async function msPerSign(body: Buffer, rounds: number): Promise<number> {
  for (let i = 0; i < Math.min(5, rounds); i++) await signer.sign(origin, 'POST', path, headers, body) // warm up
  const batches: number[] = []
  for (let b = 0; b < 7; b++) {
    const t0 = performance.now()
    for (let i = 0; i < rounds; i++) await signer.sign(origin, 'POST', path, headers, body)
    batches.push((performance.now() - t0) / rounds)
  }
  return batches.sort((x, y) => x - y)[3]
}

console.log('| body | ms per signature |')
console.log('| ---: | ---: |')
for (const [label, size, rounds] of [['1 KiB', 1024, 500], ['64 KiB', 64 * 1024, 50], ['1 MiB', 1024 * 1024, 10]] as const) {
  const body = Buffer.alloc(size, 'a')
  console.log(`| ${label} | ${(await msPerSign(body, rounds)).toFixed(3)} |`)
}
