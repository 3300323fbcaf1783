/// <reference types="node" />
// Node has WebCrypto but no IndexedDB: the store must say so with its typed error, not a ReferenceError.
import { expect, it } from 'vitest'
import { KeyStore, isKeysError, readBackupInfo } from '../src/index.js'

it('without IndexedDB, every store call fails with STORAGE_UNAVAILABLE', async () => {
  expect(typeof indexedDB).toBe('undefined')
  const keys = new KeyStore() // constructing opens nothing
  const error = await keys.list().catch((e: unknown) => e)
  expect(isKeysError(error, 'STORAGE_UNAVAILABLE')).toBe(true)
  expect(error).toHaveProperty('cause.name', 'ReferenceError')
  await expect(keys.get('00000000000000000000000000000000')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' })
  // Argument errors still come first, and reading a backup's header needs no storage.
  await expect(keys.get('nope')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  await expect(readBackupInfo(new Uint8Array(200))).rejects.toMatchObject({ code: 'BAD_BACKUP' })
})

it('isKeysError recognises an error rebuilt on the far side of a Worker boundary by its code', () => {
  expect(isKeysError({ name: 'Error', message: 'x', code: 'WRONG_PASSPHRASE' }, 'WRONG_PASSPHRASE')).toBe(true)
  expect(isKeysError({ code: 'WRONG_KEY' })).toBe(false)
  expect(isKeysError(new Error('plain'))).toBe(false)
})
