/** A plugin's trap as the host sees it, and which callback was running (no imports: vm and host both use it). */
import type { TrapReason } from './metrics.js'

export class WasmTrap extends Error {
  constructor(readonly reason: TrapReason, message: string) {
    super(message)
  }
}

/** Which callback is running: decides which buffers and maps the host functions expose. */
export type Phase = 'start' | 'vm_start' | 'configure' | 'request_headers' | 'request_body' | 'response_headers' | 'response_body' | 'done'
