/**
 * The parts of undici the gateway uses, each loaded from its own file. undici's index also loads
 * fetch, WebSocket, EventSource, the HTTP cache and the mock agents — ≈2.5 MB of V8 heap in every
 * isolate that imports it (each worker and the main thread), none of it used here. undici is pinned
 * to an exact version in package.json; test/runtime/undici.test.ts checks these are the very
 * objects undici's index exports.
 */
import { createRequire } from 'node:module'
import type * as Undici from 'undici'

const require = createRequire(import.meta.url)

export const Pool: typeof Undici.Pool = require('undici/lib/dispatcher/pool.js')
export type Pool = Undici.Pool
export const buildConnector: typeof Undici.buildConnector = require('undici/lib/core/connect.js')
export type Connector = Undici.buildConnector.connector
export const errors: typeof Undici.errors = require('undici/lib/core/errors.js')

/**
 * undici's top-level `request` (its global dispatcher unless one is given). Only health checks and
 * load scrapes use it, on the main thread, so the whole index is loaded on the first call.
 */
export const request: typeof Undici.request = (...args) => (require('undici') as typeof Undici).request(...args)
