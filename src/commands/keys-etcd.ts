/**
 * `switchyard keys` against an etcd prefix: one object per key, `<prefix>keys/<id>`, its value the
 * record's YAML. Loaded on use (etcd3 brings gRPC). The tenant must exist under
 * `<prefix>tenants/`; writes are guarded so two operators cannot overwrite each other's change.
 */
import { parse as parseYaml } from 'yaml'
import { createEtcdClient } from '../control/sources/etcd-client.js'
import { etcdErrorMessage } from '../control/sources/etcd-layout.js'
import { createKeyRecord, keyRecordYaml, type KeyListing, type KeyRecord } from '../shared/key-records.js'
import type { EtcdTarget } from './etcd-options.js'
import { announce, printListing, type CreateOptions } from './keys-output.js'

export async function etcdKeys(sub: 'create' | 'list' | 'revoke', target: EtcdTarget, options: { create?: CreateOptions; id?: string }): Promise<number> {
  const client = createEtcdClient(target.connect)
  const p = target.prefix
  try {
    if (sub === 'list') {
      const all = await client.getAll().prefix(`${p}keys/`).strings()
      return printListing(Object.values(all).map((text) => listing(parseYaml(text) as KeyRecord)).sort((a, b) => (a.id < b.id ? -1 : 1)))
    }
    if (sub === 'create') {
      const o = options.create!
      const tenants = Object.keys(await client.getAll().prefix(`${p}tenants/`).strings()).map((k) => k.slice(`${p}tenants/`.length))
      if (!tenants.includes(o.tenant)) {
        console.error(`switchyard keys create: unknown tenant '${o.tenant}' under ${p}tenants/ (known: ${tenants.join(', ') || 'none'}); nothing written`)
        return 1
      }
      const { key, record } = createKeyRecord(o, Date.now())
      const at = `${p}keys/${record.id}`
      const r = await client.if(at, 'Create', '==', 0).then(client.put(at).value(keyRecordYaml(record))).commit()
      if (!r.succeeded) {
        console.error(`switchyard keys create: ${at} already exists; nothing written`)
        return 1
      }
      announce(key, record, at)
      return 0
    }
    const id = options.id!
    const at = `${p}keys/${id}`
    const res = await client.get(at).exec()
    const kv = res.kvs[0]
    if (!kv) {
      console.error(`switchyard keys revoke: no key '${id}' under ${p}keys/`)
      return 1
    }
    const record = parseYaml(kv.value.toString()) as KeyRecord
    if (record.disabled === true) {
      console.error(`key '${id}' (${at}) was already revoked`)
      return 0
    }
    const r = await client.if(at, 'Mod', '==', kv.mod_revision).then(client.put(at).value(keyRecordYaml({ ...record, disabled: true }))).commit()
    if (!r.succeeded) {
      console.error(`switchyard keys revoke: ${at} changed while it was being revoked; run it again`)
      return 1
    }
    console.error(`key '${id}' revoked (${at}); every gateway watching ${p} refuses it within a second`)
    return 0
  } catch (e) {
    console.error(`switchyard keys ${sub}: etcd ${target.connect.endpoints.join(',')}: ${etcdErrorMessage(e)}`)
    return 1
  } finally {
    client.close()
  }
}

function listing(r: KeyRecord): KeyListing {
  return { id: String(r.id), tenant: String(r.tenant), models: r.models ? r.models.map(String) : null, expires_at: r.expires_at ?? null, disabled: r.disabled === true }
}
