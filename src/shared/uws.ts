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

/** Method, path and raw query (without `?`) of a request, read synchronously in the handler. */
export interface RequestLine {
  readonly method: string
  readonly path: string
  readonly query: string
}

/**
 * The JavaScript fallback differs from the addon: no getCaseSensitiveMethod, getUrl() includes
 * the query string and getQuery() throws on a relative URL. So the accessors are picked once.
 */
export const requestLineOf: (req: UWS.HttpRequest) => RequestLine =
  uwsBuild === 'native'
    ? (req) => ({ method: req.getCaseSensitiveMethod(), path: req.getUrl(), query: req.getQuery() ?? '' })
    : (req) => {
        const url = req.getUrl()
        const q = url.indexOf('?')
        return { method: req.getMethod().toUpperCase(), path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1) }
      }

/** Request headers, lower-case names, repeats joined with ", " (the fallback has no forEach). */
export const headersOf: (req: UWS.HttpRequest) => Record<string, string> =
  uwsBuild === 'native'
    ? (req) => {
        const headers: Record<string, string> = {}
        req.forEach((k, v) => {
          const prev = headers[k]
          headers[k] = prev === undefined ? v : `${prev}, ${v}`
        })
        return headers
      }
    : (req) => {
        // The fallback wraps node:http's IncomingMessage, which has already joined repeats.
        const raw = (req as unknown as { request: { headers: Record<string, string | string[]> } }).request.headers
        const headers: Record<string, string> = {}
        for (const k in raw) headers[k] = Array.isArray(raw[k]) ? (raw[k] as string[]).join(', ') : (raw[k] as string)
        return headers
      }
