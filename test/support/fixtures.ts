/** Recorded provider payloads under test/fixtures/<provider>/, read as text, JSON or base64 bytes. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixturesDir } from './repo-root.js'

export function fixture(path: string): string {
  return readFileSync(join(fixturesDir, path), 'utf8')
}

export function fixtureJson<T = any>(path: string): T {
  return JSON.parse(fixture(path)) as T
}

export function fixtureBytes(path: string): Buffer {
  return Buffer.from(fixture(path).replace(/\s+/g, ''), 'base64')
}
