/**
 * Persistent storage. By default a browser may evict a site's IndexedDB under storage pressure, and
 * with it every key stored there; a site whose storage is marked persistent is evicted only by the
 * user. Keys that never leave the browser make this worth asking for, and worth telling the user
 * when it is not granted (their backup file is then the only thing that survives an eviction).
 */

/**
 * - `granted`: storage is persistent (now or already).
 * - `denied`: the browser said no (Chromium decides by engagement, Firefox asks the user).
 * - `unavailable`: this context cannot ask: no Storage API (an old browser, Node), or a Worker, where
 *   `persist()` does not exist. Ask from a page.
 */
export type PersistenceStatus = 'granted' | 'denied' | 'unavailable'

/** The part of `navigator.storage` used here; injectable for tests. `persist` is absent in Workers. */
export interface PersistentStorageManager {
  persisted(): Promise<boolean>
  persist?: () => Promise<boolean>
}

function defaultManager(): PersistentStorageManager | undefined {
  return typeof navigator === 'undefined' ? undefined : navigator.storage
}

/**
 * Asks the browser to keep this site's storage (and so its keys) from eviction, and reports the
 * answer. Call it from a page, ideally right after the user creates or restores a key: some browsers
 * prompt, and some grant more readily after a user action.
 *
 * @param storage the StorageManager to ask; `navigator.storage` by default.
 * @throws never: a browser that fails to answer counts as `denied`.
 * @example
 * const status = await requestPersistentStorage()
 * if (status !== 'granted') showWarning('This browser may delete your key. Keep the backup file safe.')
 */
export async function requestPersistentStorage(storage = defaultManager()): Promise<PersistenceStatus> {
  if (storage === undefined) return 'unavailable'
  try {
    if (await storage.persisted()) return 'granted'
    if (storage.persist === undefined) return 'unavailable'
    return (await storage.persist()) ? 'granted' : 'denied'
  } catch {
    return 'denied'
  }
}
