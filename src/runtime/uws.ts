/**
 * Loads uWebSockets.js and reports which build is running. The npm build we use silently falls
 * back to a slow pure-JS implementation when its native binary does not load; we must know.
 */
import { createRequire } from 'node:module'
import { STATUS_CODES } from 'node:http'
import type * as UWS from 'uWebSockets.js'

const require = createRequire(import.meta.url)
export const uws: typeof UWS = require('uWebSockets.js')

/** `native` when the C++ addon is loaded, `fallback` for the JS implementation. */
export const uwsBuild: 'native' | 'fallback' = String(uws.App).includes('[native code]') ? 'native' : 'fallback'

export const STATUS_LINES: Record<number, string> = {}
for (const [code, text] of Object.entries(STATUS_CODES)) STATUS_LINES[Number(code)] = `${code} ${text}`
export function statusLine(code: number): string {
  return STATUS_LINES[code] ?? `${code} Unknown`
}
