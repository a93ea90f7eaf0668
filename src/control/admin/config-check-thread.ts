/**
 * The config checker's thread (config-checker.ts): answers each { id, name, text } with the check's
 * answer, or the message of whatever the dry build threw.
 */
import { parentPort } from 'node:worker_threads'
import { checkConfigText } from './config-check.js'

export interface CheckRequest { readonly id: number; readonly name: string; readonly text: string }
export type CheckReply = { readonly id: number } & ({ readonly answer: ReturnType<typeof checkConfigText> } | { readonly error: string })

parentPort!.on('message', ({ id, name, text }: CheckRequest) => {
  let reply: CheckReply
  try {
    reply = { id, answer: checkConfigText(name, text) }
  } catch (e) {
    reply = { id, error: String((e as Error)?.message ?? e) }
  }
  parentPort!.postMessage(reply)
})
