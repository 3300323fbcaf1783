/**
 * Sealed parts go to the network from a file in the origin-private file system (OPFS) where the
 * Worker can write one. In Chromium an in-memory request body reaches the network at a few tens of
 * MB/s while a file-backed one goes at hundreds, and the part's memory is released as soon as it is
 * written (docs/BENCHMARKS.md, "Transfer"). Only ciphertext is written, and the file is removed when
 * the part is done. Where OPFS or synchronous access handles are missing (the page, other
 * browsers), the part is sent from memory as before.
 */

/** The slice of `FileSystemSyncAccessHandle` used here (its types are only in the Worker lib). */
interface SyncAccessHandle {
  write(buffer: Uint8Array, options?: { at?: number }): number
  truncate(size: number): void
  flush(): void
  close(): void
}

function canSync(handle: FileSystemFileHandle): handle is FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> } {
  return 'createSyncAccessHandle' in handle && typeof handle.createSyncAccessHandle === 'function'
}

export interface Spooled {
  readonly body: Blob | Uint8Array<ArrayBuffer>
  /** Removes the file, if there is one. Never throws. */
  release(): Promise<void>
}

const DIRECTORY = 'bucketseal-parts'
/** Files older than this are leftovers of a crashed tab (ciphertext only), removed on first use. */
const STALE_MS = 60 * 60 * 1000
let swept: Promise<void> | null = null

async function sweep(dir: FileSystemDirectoryHandle): Promise<void> {
  const names: string[] = []
  for await (const name of dir.keys()) names.push(name)
  const cutoff = Date.now() - STALE_MS
  for (const name of names) {
    const written = Number.parseInt(name.split('-')[0] ?? '', 36)
    if (Number.isFinite(written) && written < cutoff) await dir.removeEntry(name).catch(() => undefined)
  }
}

/**
 * Writes `bytes` to an OPFS file and returns it as the request body, or returns `bytes` themselves
 * when that is not possible here. The caller drops its reference to `bytes` afterwards.
 */
export async function spool(bytes: Uint8Array<ArrayBuffer>): Promise<Spooled> {
  const inMemory: Spooled = { body: bytes, release: async () => undefined }
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') return inMemory
  const name = `${Date.now().toString(36)}-${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')}.part`
  let dir: FileSystemDirectoryHandle | null = null
  try {
    dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIRECTORY, { create: true })
    const folder0 = dir
    swept ??= sweep(folder0).catch(() => undefined)
    const handle = await dir.getFileHandle(name, { create: true })
    if (!canSync(handle)) {
      await dir.removeEntry(name)
      return inMemory
    }
    const access = await handle.createSyncAccessHandle()
    try {
      access.truncate(0)
      if (access.write(bytes, { at: 0 }) !== bytes.length) throw new Error('short write')
      access.flush()
    } finally {
      access.close()
    }
    const file = await handle.getFile()
    const folder = dir
    return {
      body: file,
      release: async () => {
        await folder.removeEntry(name).catch(() => undefined)
      },
    }
  } catch {
    // A full disk, a quota, a browser without OPFS in Workers: send from memory instead.
    await dir?.removeEntry(name).catch(() => undefined)
    return inMemory
  }
}
