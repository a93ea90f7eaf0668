/**
 * AWS SigV4 for Bedrock, with the maintained @smithy signer (no hand-rolled crypto).
 * The signer is loaded when the first Bedrock endpoint is built, not with this module: a worker
 * without Bedrock clusters never holds @smithy's code (≈1.5 MB of heap per isolate).
 */
import { createRequire } from 'node:module'
import type * as SignatureV4Module from '@smithy/signature-v4'
import type * as Serde from '@smithy/core/serde'

const require = createRequire(import.meta.url)
let smithy: { SignatureV4: typeof SignatureV4Module.SignatureV4; Hash: typeof Serde.Hash } | undefined
const loadSmithy = () => (smithy ??= { SignatureV4: (require('@smithy/signature-v4') as typeof SignatureV4Module).SignatureV4, Hash: (require('@smithy/core/serde') as typeof Serde).Hash })

/**
 * SHA-256 / HMAC-SHA256 on node:crypto, as the AWS SDK's Node clients configure it. Signing hashes
 * the whole body on the worker's event loop; the pure-JS hash took ~20× longer on a 1 MiB prompt
 * (bench/sigv4-hash.ts). The signer calls it with `new`, which returns the Hash made here.
 */
type Secret = ConstructorParameters<typeof Serde.Hash>[1]
export const sha256 = function sha256(secret?: Secret) {
  return new (loadSmithy().Hash)('sha256', secret)
} as unknown as new (secret?: Secret) => Serde.Hash

export interface Signer {
  /** Returns the headers to add (authorization, x-amz-date, x-amz-content-sha256, x-amz-security-token). */
  sign(origin: string, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Record<string, string>>
}

export function createSigV4Signer(region: string, accessKeyId: string, secretAccessKey: string, sessionToken?: string): Signer {
  const signer = new (loadSmithy().SignatureV4)({
    service: 'bedrock',
    region,
    sha256,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) },
  })
  return {
    async sign(origin, method, path, headers, body) {
      const url = new URL(origin)
      const qi = path.indexOf('?')
      const query: Record<string, string> = {}
      if (qi >= 0) for (const [k, v] of new URLSearchParams(path.slice(qi + 1))) query[k] = v
      const signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port && { port: Number(url.port) }),
        path: qi >= 0 ? path.slice(0, qi) : path,
        query,
        headers: { ...headers, host: url.host },
        body: body ?? '',
      })
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(signed.headers)) {
        const lk = k.toLowerCase()
        if (lk === 'authorization' || lk.startsWith('x-amz-')) out[lk] = String(v)
      }
      return out
    },
  }
}
