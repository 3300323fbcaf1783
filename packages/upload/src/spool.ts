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
  getSize(): number
  truncate(size: number): void
  flush(): void
  close(): void
}

function canSync(handle: FileSystemFileHandle): handle is FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> } {
  return 'createSyncAccessHandle' in handle && typeof handle.createSyncAccessHandle === 'function'
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

/** A private file a part is sealed into and then sent from. */
export interface SpoolFile {
  /** Writes `bytes` at offset `at` (synchronously: the bytes may be reused afterwards). */
  write(bytes: Uint8Array, at: number): void
  /** Closes the file and returns it as the request body. */
  finish(): Promise<Blob>
  /** Removes the file. Never throws. */
  release(): Promise<void>
}

/**
 * Opens a new OPFS file for one part, or returns `null` where that is not possible here (the page,
 * a browser without synchronous access handles, a full disk): the caller then works in memory.
 */
export async function openSpoolFile(): Promise<SpoolFile | null> {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') return null
  const name = `${Date.now().toString(36)}-${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')}.part`
  let dir: FileSystemDirectoryHandle | null = null
  try {
    dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIRECTORY, { create: true })
    const folder = dir
    swept ??= sweep(folder).catch(() => undefined)
    const handle = await folder.getFileHandle(name, { create: true })
    if (!canSync(handle)) {
      await folder.removeEntry(name)
      return null
    }
    const access = await handle.createSyncAccessHandle()
    // Chromium before 108 (within docs/ENGINES.md's floor) has the first draft of this API, whose
    // methods return promises: write() would not say how much it wrote. Such a handle is closed
    // and the part sent from memory.
    if (typeof access.getSize() !== 'number') {
      await Promise.resolve(access.close())
      await folder.removeEntry(name)
      return null
    }
    let open = true
    const close = (): void => {
      if (open) access.close()
      open = false
    }
    return {
      write(bytes, at) {
        if (access.write(bytes, { at }) !== bytes.length) throw new Error('Short write to the part file.')
      },
      async finish() {
        access.flush()
        close()
        return handle.getFile()
      },
      async release() {
        close()
        await folder.removeEntry(name).catch(() => undefined)
      },
    }
  } catch {
    // A quota, a full disk, no OPFS in this context: work in memory instead.
    await dir?.removeEntry(name).catch(() => undefined)
    return null
  }
}
