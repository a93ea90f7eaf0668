/**
 * Where file contents live: uploaded input files and the output and error files batches write.
 * One small interface so another store (S3-compatible) can take the local directory's place; the
 * records that describe the files are in the metadata bucket, not here.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

export interface FileStore {
  write(id: string, data: Uint8Array): Promise<void>
  /** undefined when there is no such file. */
  read(id: string): Promise<Buffer | undefined>
  remove(id: string): Promise<void>
}

/** Files as `<dir>/<id>`, written to a temporary name and renamed, so a reader never sees half a file. */
export class LocalFileStore implements FileStore {
  private readonly dir: string
  private ready: Promise<unknown> | undefined

  constructor(dir: string) {
    this.dir = resolve(dir)
  }

  async write(id: string, data: Uint8Array): Promise<void> {
    await (this.ready ??= mkdir(this.dir, { recursive: true }))
    const tmp = join(this.dir, `.${id}.${process.pid}.tmp`)
    await writeFile(tmp, data)
    await rename(tmp, this.path(id))
  }

  async read(id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(id))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true })
  }

  private path(id: string): string {
    // Ids are ours (file-<hex>), checked by the API before they reach here; never a path.
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`not a file id: ${id}`)
    return join(this.dir, id)
  }
}
