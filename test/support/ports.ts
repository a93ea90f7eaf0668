import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'

/**
 * Ports handed to gateways a test starts later. Port 0 would give one from the kernel's ephemeral
 * range, which it also gives to outgoing connections: between our close() and the gateway's
 * bind, a client socket of a concurrent test can take it ("cannot listen … in use"). So ports come
 * from below that range, at random (test files run in parallel processes), never twice in one
 * process, and each is checked bindable first.
 */
const [EPHEMERAL_LOW] = ephemeralRange()
const LOW = 10_000
const HIGH = Math.max(LOW + 1000, EPHEMERAL_LOW - 1)
const given = new Set<number>()

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (lo > 0 && hi > lo) return [lo, hi]
  } catch {}
  return [32768, 60999]
}

/** True when 127.0.0.1:`port` can be listened on now. */
export function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

/** A port that was free a moment ago, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (given.has(port)) continue
    given.add(port)
    if (await bindable(port)) return port
  }
  throw new Error(`no free port found in ${LOW}-${HIGH}`)
}
