/**
 * File and batch records in the JetStream key-value bucket. A batch changes state by
 * compare-and-set on its revision, so two hosts that race (both see the last line answered, both
 * see the window pass) agree on one winner.
 */
import type { KV } from 'nats'
import { batchKey, fileKey, TERMINAL, type BatchRecord, type FileRecord } from './records.js'

/** An index of the batches that have not ended, so the sweep does not read every batch ever made. */
const activeKey = (id: string) => `active.${id}`

export class MetaStore {
  constructor(private readonly kv: KV) {}

  async file(id: string): Promise<FileRecord | undefined> {
    return (await this.read<FileRecord>(fileKey(id)))?.value
  }

  async putFile(f: FileRecord): Promise<void> {
    await this.kv.put(fileKey(f.id), JSON.stringify(f))
  }

  async deleteFile(id: string): Promise<void> {
    await this.kv.delete(fileKey(id))
  }

  async batch(id: string): Promise<BatchRecord | undefined> {
    return (await this.read<BatchRecord>(batchKey(id)))?.value
  }

  async createBatch(b: BatchRecord): Promise<void> {
    await this.kv.put(activeKey(b.id), '')
    await this.kv.create(batchKey(b.id), JSON.stringify(b))
  }

  /**
   * Applies `change` to the newest record and stores it if the record did not move meanwhile
   * (else reads again and retries). `change` returns false to leave the record as it is.
   * Resolves with the stored record, or undefined when `change` declined or there is none.
   */
  async updateBatch(id: string, change: (b: BatchRecord) => boolean): Promise<BatchRecord | undefined> {
    for (let tries = 0; tries < 20; tries++) {
      const cur = await this.read<BatchRecord>(batchKey(id))
      if (cur === undefined) return undefined
      if (!change(cur.value)) return undefined
      try {
        await this.kv.update(batchKey(id), JSON.stringify(cur.value), cur.revision)
        if (TERMINAL.has(cur.value.status)) await this.kv.delete(activeKey(id)).catch(() => {})
        return cur.value
      } catch (e) {
        if (!/wrong last sequence/i.test((e as Error).message)) throw e
      }
    }
    throw new Error(`batch ${id}: too many concurrent updates`)
  }

  async files(): Promise<FileRecord[]> {
    return this.all<FileRecord>('file.*')
  }

  async batches(): Promise<BatchRecord[]> {
    return this.all<BatchRecord>('batch.*')
  }

  /** The batches that have not ended (validating, in progress, cancelling, finalizing). */
  async activeBatches(): Promise<BatchRecord[]> {
    const ids: string[] = []
    for await (const k of await this.kv.keys('active.*')) ids.push(k.slice('active.'.length))
    const out: BatchRecord[] = []
    for (const id of ids) {
      const b = await this.batch(id)
      if (b !== undefined) out.push(b)
    }
    return out
  }

  private async all<T>(filter: string): Promise<T[]> {
    const keys: string[] = []
    for await (const k of await this.kv.keys(filter)) keys.push(k)
    const out: T[] = []
    for (const k of keys) {
      const e = await this.read<T>(k)
      if (e !== undefined) out.push(e.value)
    }
    return out
  }

  private async read<T>(key: string): Promise<{ value: T; revision: number } | undefined> {
    const e = await this.kv.get(key)
    if (e === null || e.operation !== 'PUT') return undefined
    return { value: e.json<T>(), revision: e.revision }
  }
}
