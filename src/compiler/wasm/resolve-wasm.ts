/**
 * A `type: wasm` filter's config lowered to WasmFilterIR: the module path resolved against the
 * config file that names it, the file read and checked (check-module.ts), its instrumented bytes
 * carried in the IR; every problem a SY_CFG_WASM diagnostic at the filter's `config.module`.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { WasmFilterIR } from '../ir.js'
import type { ResolveContext } from '../resolve/context.js'
import { below, type Located, type LocatedValue } from '../resolve/positions.js'
import { sizeBytes } from '../../shared/units.js'
import { checkModule } from './check-module.js'

type Obj = Record<string, unknown>

export function resolveWasmFilter(name: string, f: LocatedValue<Obj>, cfg: Located, ctx: ResolveContext): WasmFilterIR {
  const raw = (f.value.config ?? {}) as Obj
  const modulePath = String(raw.module)
  const at = below(cfg, 'module')
  const path = resolve(f.doc.baseDir, modulePath)
  ctx.files.push(path)
  const configuration = raw.configuration === undefined ? '' : typeof raw.configuration === 'string' ? (ctx.secrets.deep(raw.configuration, below(cfg, 'configuration')) as string) : JSON.stringify(ctx.secrets.deep(raw.configuration, below(cfg, 'configuration')))
  const memoryLimit = sizeBytes(String(raw.memory_limit ?? '16mb'))
  const base = { plugin: name, module: path, configuration, fuel: Number(raw.fuel ?? 10_000_000) }
  const failed = (message: string): WasmFilterIR => {
    ctx.report('SY_CFG_WASM', at, `filter '${name}': module '${modulePath}': ${message}`)
    return { ...base, sha256: '', binary: '', memoryMaxBytes: 0, callbacks: [] }
  }
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return failed(err.code === 'ENOENT' ? `no such file (${path})` : `cannot be read: ${err.code ?? err.message}`)
  }
  const checked = checkModule(bytes, memoryLimit)
  if ('error' in checked) return failed(checked.error)
  return {
    ...base,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    binary: Buffer.from(checked.binary).toString('base64'),
    memoryMaxBytes: checked.memory.maximum * 65536,
    callbacks: checked.callbacks,
  }
}
