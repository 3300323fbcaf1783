/**
 * IndexedDB access through an idb-keyval store. Each operation that reads and then writes does both in
 * one transaction: two tabs (or a tab and a Worker) share the store, and a rename that read a key
 * just before another tab deleted it must not write the key back. Every browser failure becomes a
 * {@link StorageUnavailableError}.
 */
import { type UseStore, createStore, promisifyRequest } from 'idb-keyval'
import { KeysError, StorageUnavailableError } from './errors.js'

/** The default database: its own, so that no other library's data shares its fate (or its version). */
export const DEFAULT_DB_NAME = 'bucketseal-keys'
export const DEFAULT_STORE_NAME = 'keys'

/**
 * The default store. idb-keyval opens the database on first use, not here, so a context without
 * IndexedDB (Node, some sandboxed frames) fails in the first operation, where {@link guard} reports it.
 */
export function openDefaultStore(): UseStore {
  return createStore(DEFAULT_DB_NAME, DEFAULT_STORE_NAME)
}

/** Runs an IndexedDB operation; any failure that is not already ours means the storage is unusable. */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (cause) {
    if (cause instanceof KeysError) throw cause
    throw new StorageUnavailableError(cause)
  }
}

/** The value at `key`, or `undefined`. */
export function read(store: UseStore, key: string): Promise<unknown> {
  return guard(() => store('readonly', (s) => promisifyRequest<unknown>(s.get(key))))
}

/** Every value whose key starts with `prefix`, in key order. */
export function readAll(store: UseStore, prefix: string): Promise<unknown[]> {
  // Keys are `prefix` + hex digits, so this range holds exactly the keys with the prefix.
  return guard(() => store('readonly', (s) => promisifyRequest<unknown[]>(s.getAll(IDBKeyRange.bound(prefix, `${prefix}\uffff`)))))
}

/**
 * Writes `value` unless `key` holds a well-formed value already (as judged by `parse`). Returns the
 * value that was there, or `null` when `value` was written.
 */
export function putIfAbsent<T>(store: UseStore, key: string, value: T, parse: (stored: unknown) => T | null): Promise<T | null> {
  return guard(() =>
    store('readwrite', async (s) => {
      const existing = parse(await promisifyRequest<unknown>(s.get(key)))
      if (existing === null) s.put(value, key)
      await promisifyRequest(s.transaction)
      return existing
    }),
  )
}

/**
 * Replaces the value at `key` with `change(current)`, where `current` is the stored value as judged
 * by `parse`. Returns the new value, or `null` when `key` holds no well-formed value (nothing is written).
 */
export function modify<T>(store: UseStore, key: string, parse: (stored: unknown) => T | null, change: (current: T) => T): Promise<T | null> {
  return guard(() =>
    store('readwrite', async (s) => {
      const current = parse(await promisifyRequest<unknown>(s.get(key)))
      const next = current === null ? null : change(current)
      if (next !== null) s.put(next, key)
      await promisifyRequest(s.transaction)
      return next
    }),
  )
}

/** Deletes `key`; returns whether it held a value. */
export function remove(store: UseStore, key: string): Promise<boolean> {
  return guard(() =>
    store('readwrite', async (s) => {
      const existing = await promisifyRequest<IDBValidKey | undefined>(s.getKey(key))
      if (existing !== undefined) s.delete(key)
      await promisifyRequest(s.transaction)
      return existing !== undefined
    }),
  )
}
