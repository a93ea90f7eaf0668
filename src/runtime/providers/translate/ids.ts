/** Identifier helpers; ids only need to be unique, not secret. */
import { randomBytes } from 'node:crypto'

export function randomId(prefix: string): string {
  return prefix + randomBytes(12).toString('base64url')
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
