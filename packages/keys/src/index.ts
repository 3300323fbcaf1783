/**
 * @bucketseal/keys: master keys that never leave the browser, and a way back when a device is lost.
 *
 * - {@link KeyStore} keeps own RSA-OAEP-256 key pairs and AES-KW keys in IndexedDB as
 *   non-extractable CryptoKeys, and the public keys of known recipients. It works in pages and
 *   Workers, and hands out keys ready for core's `encrypt` and `decrypt`.
 * - Creating a key returns, once, a recovery backup sealed under a passphrase (docs/FORMAT.md, "Key
 *   backup file"); {@link KeyStore.restoreFromBackup} puts the key back on any device. No API
 *   exports a private or symmetric key after creation: the stored keys are non-extractable, so
 *   WebCrypto itself refuses, and the backup is the one copy outside it.
 * - For no stored key at all, encrypt to `{ passphrase }` with core: each object then gets its own
 *   PBKDF2-SHA-256 salt (600,000 iterations or more) and AES-KW key-encryption key, so nothing is
 *   stored and no key derived once could open every object. This package adds nothing to that on
 *   purpose: a stored derived key would be a stored key.
 * - {@link requestPersistentStorage} asks the browser not to evict the keys.
 * @packageDocumentation
 */
export { KeyStore, type KeyStoreOptions, type KeyIdSource } from './store.js'
export type { KeyCollection } from './collection.js'
export type { KnownRecipients } from './recipients.js'
export { MIN_PASSPHRASE_LENGTH, KEY_PAIR_MODULUS_LENGTH, type BackupOptions, type CreatedKey } from './generate.js'
export { readBackupInfo, BACKUP_FILE_EXTENSION, MAX_BACKUP_ITERATIONS, type BackupInfo } from './backup.js'
export { exportPublicKey, type ExportedPublicKey } from './public-keys.js'
export { requestPersistentStorage, type PersistenceStatus, type PersistentStorageManager } from './persistence.js'
export { DEFAULT_DB_NAME, DEFAULT_STORE_NAME } from './db.js'
export { MAX_NAME_BYTES, type KeyAlgorithmName, type KeyInfo, type StoredKey, type StoredKeyPair, type StoredAesKwKey, type KnownRecipient } from './records.js'
export {
  KeysError,
  KeyNotFoundError,
  WrongPassphraseError,
  BadBackupError,
  StorageUnavailableError,
  isKeysError,
  type KeysErrorCode,
} from './errors.js'
