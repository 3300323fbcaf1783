/// <reference lib="webworker" />
/**
 * Writes the benchmark's input file into the origin-private file system with a synchronous access
 * handle, 8 MiB at a time: random bytes (64 KiB per getRandomValues call) for the first block, then
 * that block with a block counter stamped in, so no two blocks are equal. The content does not
 * change what AES-GCM or the store costs; it only has to be there, on disk, as a user's file is.
 * Answers `{ size, ms }`, or `{ error }`.
 */
const BLOCK = 8 * 1024 * 1024

interface SyncHandle {
  write(buffer: Uint8Array, options: { at: number }): number
  getSize(): number
  truncate(size: number): void
  flush(): void
  close(): void
}

self.onmessage = async (event: MessageEvent<{ name: string; size: number }>): Promise<void> => {
  const { name, size } = event.data
  const started = performance.now()
  try {
    const root = await navigator.storage.getDirectory()
    const handle = await root.getFileHandle(name, { create: true })
    const access = (await (handle as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle())
    try {
      if (access.getSize() !== size) {
        access.truncate(0)
        const block = new Uint8Array(BLOCK)
        for (let i = 0; i < BLOCK; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536))
        const stamp = new DataView(block.buffer)
        for (let at = 0, n = 0; at < size; at += BLOCK, n++) {
          stamp.setUint32(0, n)
          const piece = block.subarray(0, Math.min(BLOCK, size - at))
          if (access.write(piece, { at }) !== piece.length) throw new Error('short write')
        }
        access.flush()
      }
    } finally {
      access.close()
    }
    self.postMessage({ size, ms: performance.now() - started, error: null })
  } catch (e) {
    self.postMessage({ size: 0, ms: 0, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })
  }
}
