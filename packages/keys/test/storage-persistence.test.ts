import { describe, expect, it } from 'vitest'
import { type PersistentStorageManager, requestPersistentStorage } from '../src/index.js'

function manager(persisted: boolean, persist?: boolean | 'throws'): PersistentStorageManager {
  return {
    persisted: async () => persisted,
    ...(persist === undefined
      ? {}
      : {
          persist: async () => {
            if (persist === 'throws') throw new DOMException('no', 'InvalidStateError')
            return persist
          },
        }),
  }
}

describe('requestPersistentStorage', () => {
  it.for([
    ['already persistent', 'granted', manager(true, false)],
    ['granted on request', 'granted', manager(false, true)],
    ['refused', 'denied', manager(false, false)],
    ['failing', 'denied', manager(false, 'throws')],
    ['in a Worker (no persist)', 'unavailable', manager(false)],
    ['in a Worker, already persistent', 'granted', manager(true)],
  ] as const)('%s → %s', async ([, expected, storage]) => {
    expect(await requestPersistentStorage(storage)).toBe(expected)
  })

  it('asks the real StorageManager where there is one, and says "unavailable" where there is none', async () => {
    const status = await requestPersistentStorage()
    const hasStorage = typeof navigator !== 'undefined' && navigator.storage !== undefined
    if (hasStorage) expect(['granted', 'denied']).toContain(status)
    else expect(status).toBe('unavailable')
  })
})
