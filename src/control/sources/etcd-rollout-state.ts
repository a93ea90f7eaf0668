/**
 * Rollout records in etcd, beside the config they belong to: one key per rollout,
 *   <prefix>.state/rollouts/<route table>/<rule>      (JSON, rollout-state.ts RolloutRecord)
 * which the config loader and `config push` leave alone (etcd-layout.ts STATE_DIR). A write is one
 * transaction: put if the key's mod_revision is still the one the writer derived its record from
 * (0: the key must not exist), else read it back, so the loser learns the winner's record in the
 * same round trip. A watch on `<prefix>.state/rollouts/` reports every change; after a reconnect
 * (or on the first connect) every stored record is reported again, so nothing written while the
 * watch was down is missed.
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3'
import { log } from '../../shared/log.js'
import { parseRecord, type RolloutRecord, type RolloutStore, type RolloutWrite, type StoredRollout } from '../rollout-state.js'
import { STATE_DIR, etcdErrorMessage, normalizePrefix } from './etcd-layout.js'

const ROLLOUTS = `${STATE_DIR}rollouts/`

/** etcd3/grpc errors without the library's boilerplate, for /rollouts and the log. */
function plainError(e: unknown): never {
  throw new Error(etcdErrorMessage(e))
}

export interface EtcdRolloutStoreOptions {
  readonly client: Etcd3
  readonly prefix: string
  /** For descriptions: the etcd endpoints. */
  readonly endpoints: readonly string[]
}

export function createEtcdRolloutStore(opts: EtcdRolloutStoreOptions): RolloutStore {
  const { client } = opts
  const dir = normalizePrefix(opts.prefix) + ROLLOUTS
  const keyOf = (id: string) => dir + id.split('/').map(encodeURIComponent).join('/')
  const idOf = (key: string) => key.slice(dir.length).split('/').map(decodeURIComponent).join('/')
  const storedOf = (kv: IKeyValue | undefined): StoredRollout => (kv ? { record: parseRecord(kv.value.toString()), rev: kv.mod_revision } : { record: undefined, rev: '0' })
  let watcher: Watcher | undefined
  let closed = false

  function startWatch(onChange: (id: string, stored: StoredRollout) => void): void {
    if (closed) return
    const w = client.watch().prefix(dir).watcher()
    watcher = w
    w.on('connected', () => {
      // Whatever changed while no watch was running (or before this one started) is read now.
      client.getAll().prefix(dir).exec().then(
        (res) => { for (const kv of res.kvs) onChange(idOf(kv.key.toString()), storedOf(kv)) },
        (e) => log('warn', 'rollout states cannot be read from etcd after the watch connected', { error: etcdErrorMessage(e) }),
      )
    })
    w.on('data', (res) => {
      for (const ev of res.events) {
        const id = idOf(ev.kv.key.toString())
        onChange(id, ev.type === 'Delete' ? { record: undefined, rev: ev.kv.mod_revision } : storedOf(ev.kv))
      }
    })
    w.on('error', (e) => {
      // Cancelled by etcd (e.g. compaction): start over; the new watch's first connect reads everything again.
      if (w !== watcher) return
      log('warn', 'etcd watch on the rollout states cancelled; restarting it', { error: etcdErrorMessage(e) })
      w.removeAllListeners()
      w.on('error', () => {})
      watcher = undefined
      setTimeout(() => startWatch(onChange), 100)
    })
  }

  return {
    describe: (id) => `etcd ${opts.endpoints.join(',')} ${keyOf(id)}`,
    async read(id) {
      const res = await client.get(keyOf(id)).exec().catch(plainError)
      return storedOf(res.kvs[0])
    },
    async write(id: string, record: RolloutRecord, expectRev: string): Promise<RolloutWrite> {
      const key = Buffer.from(keyOf(id))
      const res = await client.kv.txn({
        compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: expectRev }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(record)) } }],
        failure: [{ request_range: { key } }],
      }).catch(plainError)
      if (res.succeeded) return { ok: true, rev: res.header.revision }
      return { ok: false, current: storedOf(res.responses[0]?.response_range?.kvs[0]) }
    },
    watch: startWatch,
    async close() {
      closed = true
      const w = watcher
      watcher = undefined
      if (w) await Promise.race([w.cancel().catch(() => {}), new Promise((r) => setTimeout(r, 500))])
    },
  }
}
