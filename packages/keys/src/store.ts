/**
 * The key store: own master keys and known recipients in IndexedDB, handed out ready for core's
 * `encrypt` and `decrypt`. Works the same in a page and in a Worker of the same origin (both have
 * IndexedDB, and share the database).
 */
import { type Header, type IdentityInput, InvalidArgumentError, StanzaType, parseHeader, stanzaKeyId } from '@bucketseal/core'
import type { UseStore } from 'idb-keyval'
import { openBackup } from './backup.js'
import { KeyCollection, isKeyId, notStored } from './collection.js'
import { openDefaultStore } from './db.js'
import { KeyNotFoundError } from './errors.js'
import { type BackupOptions, type CreatedKey, generateAesKwKey, generateKeyPair } from './generate.js'
import { type ExportedPublicKey, exportPublicKey } from './public-keys.js'
import { KnownRecipients } from './recipients.js'
import { type StoredAesKwKey, type StoredKey, type StoredKeyPair, readStoredKey } from './records.js'

// The record layout version is part of every IndexedDB key, so a later layout can live beside this
// one and migrate from it. Own keys and recipients (recipients.ts) have separate prefixes: importing
// your own public key as a recipient must not overwrite the key pair that has the same id.
const KEY_PREFIX = 'v1/key/'

export interface KeyStoreOptions {
  /**
   * The idb-keyval store to keep keys in. Default: `createStore('bucketseal-keys', 'keys')`, a
   * database of its own. Tests pass a store with a fresh database name.
   */
  readonly store?: UseStore
}

/** What {@link KeyStore.identitiesFor} reads the needed key ids from. */
export type KeyIdSource =
  /** An object's first bytes: at least its whole header. */
  | Uint8Array
  /** A header parsed by core's `parseHeader`. */
  | Header
  /** Anything that lists key ids, such as core's `WrongKeyError`. */
  | { readonly keyIds: readonly string[] }

/**
 * Master keys that never leave the browser. Private and symmetric keys are stored as non-extractable
 * CryptoKeys: IndexedDB keeps the key object, and neither it nor any method here can give the key's
 * bytes back. The one copy outside WebCrypto is the recovery backup returned when a key is created.
 *
 * @example
 * const keys = new KeyStore()
 * const { key, backup } = await keys.createKeyPair('Laptop', passphrase)
 * offerDownload(new File([backup], `${key.name}${BACKUP_FILE_EXTENSION}`))
 * const sealed = await encrypt(data, { recipients: [key.publicKey] })
 * const plain = await decrypt(sealed, await keys.identitiesFor(sealed))
 */
export class KeyStore extends KeyCollection<StoredKey> {
  /** Colleagues' public keys, to encrypt objects for them. */
  readonly recipients: KnownRecipients

  /**
   * @throws never: the database is opened on first use, and its failures are reported there.
   * @example
   * const keys = new KeyStore({ store: createStore('test-db', 'keys') })
   */
  constructor(options: KeyStoreOptions = {}) {
    const idb = options.store ?? openDefaultStore()
    super(idb, KEY_PREFIX, readStoredKey)
    this.recipients = new KnownRecipients(idb)
  }

  /**
   * Creates an RSA-OAEP-256 key pair (3072 bits) and stores it, the private key non-extractable.
   * Returns, once, the recovery backup sealed under `backupPassphrase`: the app should offer it as a
   * download. It is checked to open before it is returned. No later call can export the private key:
   * it is re-imported non-extractable right after the backup is written, and only that copy is kept.
   *
   * @param backupPassphrase at least 8 characters; stretched with PBKDF2-SHA-256.
   * @throws {InvalidArgumentError} (core) a bad name, a short passphrase, bad iterations.
   * @throws {StorageUnavailableError} the browser refused IndexedDB; nothing was stored.
   * @example
   * const { key, backup } = await keys.createKeyPair('Work laptop', 'correct horse battery staple')
   */
  async createKeyPair(name: string, backupPassphrase: string, options: BackupOptions = {}): Promise<CreatedKey<StoredKeyPair>> {
    const created = await generateKeyPair(name, backupPassphrase, options)
    await this.addIfAbsent(created.key) // a fresh random key: its id is new
    return created
  }

  /**
   * Creates an AES-KW-256 master key and stores it non-extractable, with a recovery backup as for
   * {@link KeyStore.createKeyPair}. A symmetric key opens and seals objects only on devices that
   * hold it; the backup is how another device gets it. (For no stored key at all, encrypt to
   * `{ passphrase }`: core derives a fresh key per object from it, see the package documentation.)
   *
   * @throws {InvalidArgumentError} (core) a bad name, a short passphrase, bad iterations.
   * @throws {StorageUnavailableError} the browser refused IndexedDB; nothing was stored.
   * @example
   * const { key, backup } = await keys.createAesKwKey('Team archive', passphrase)
   * const sealed = await encrypt(data, { recipients: [key.key] })
   */
  async createAesKwKey(name: string, backupPassphrase: string, options: BackupOptions = {}): Promise<CreatedKey<StoredAesKwKey>> {
    const created = await generateAesKwKey(name, backupPassphrase, options)
    await this.addIfAbsent(created.key)
    return created
  }

  /**
   * Puts a key back from its backup file (on a new device, or after it was deleted or evicted),
   * non-extractable again. Restoring a key that is already stored keeps the stored one and returns it.
   *
   * @param file the backup file's bytes; read, not kept or changed.
   * @throws {WrongPassphraseError} the passphrase does not open the file.
   * @throws {BadBackupError} not a key backup, damaged (a checksum catches accidental damage), or modified.
   * @throws {InvalidArgumentError} (core) `file` is not a Uint8Array or the passphrase is not a non-empty string.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * const key = await keys.restoreFromBackup(new Uint8Array(await file.arrayBuffer()), passphrase)
   */
  async restoreFromBackup(file: Uint8Array, passphrase: string): Promise<StoredKey> {
    if (!(file instanceof Uint8Array)) throw new InvalidArgumentError('file must be a Uint8Array.')
    if (typeof passphrase !== 'string' || passphrase.length === 0) throw new InvalidArgumentError('passphrase must be a non-empty string.')
    return this.addIfAbsent(await openBackup(file, passphrase))
  }

  /**
   * The public key of an own key pair or a known recipient, as PEM and JWK, with its fingerprint:
   * what a colleague adds with `keys.recipients.add`.
   *
   * @throws {KeyNotFoundError} no key pair or recipient with this id is stored.
   * @throws {InvalidArgumentError} (core) a bad id, or the id of an AES-KW key (it has no public half).
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * const { pem, fingerprint } = await keys.exportPublicKey(key.id)
   */
  async exportPublicKey(id: string): Promise<ExportedPublicKey> {
    const own = await this.get(id)
    if (own?.algorithm === 'A256KW') throw new InvalidArgumentError(`Key ${id} is a symmetric AES-KW key: it has no public key to share.`)
    const publicKey = own?.publicKey ?? (await this.recipients.get(id))?.publicKey
    if (publicKey === undefined) throw notStored(id)
    return exportPublicKey(publicKey)
  }

  /**
   * The key to encrypt to for an id: the public key of an own key pair or a known recipient, or an
   * own AES-KW key.
   *
   * @throws {KeyNotFoundError} nothing with this id is stored.
   * @throws {InvalidArgumentError} (core) `id` is not 32 lowercase hex digits.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * const sealed = await encrypt(data, { recipients: [await keys.recipientKey(aliceId)] })
   */
  async recipientKey(id: string): Promise<CryptoKey> {
    const own = await this.get(id)
    if (own !== undefined) return own.algorithm === 'A256KW' ? own.key : own.publicKey
    const recipient = await this.recipients.get(id)
    if (recipient === undefined) throw notStored(id)
    return recipient.publicKey
  }

  /**
   * Every own key, as keys for core's `decrypt`. Prefer {@link KeyStore.identitiesFor}, which also
   * says which key is missing when none fits.
   *
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * const plain = await decrypt(sealed, await keys.identities())
   */
  async identities(): Promise<IdentityInput[]> {
    return (await this.list()).map(identity)
  }

  /**
   * The stored keys that an object is encrypted to, ready for core's `decrypt`; or a
   * {@link KeyNotFoundError} naming the key ids the object needs when this browser holds none of
   * them: the clear answer when storage was evicted or the key lives in another browser or profile.
   *
   * @param source the object's first bytes (its whole header), a parsed header, or a `WrongKeyError`.
   * @throws {KeyNotFoundError} no stored key is a recipient of the object (`keyIds` lists the ones it needs).
   * @throws {BadHeaderError} | {TruncatedError} (core) the bytes do not hold a whole object header.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * try {
   *   plain = await decrypt(sealed, await keys.identitiesFor(sealed))
   * } catch (error) {
   *   if (error instanceof KeyNotFoundError) askForBackup(error.keyIds)
   * }
   */
  async identitiesFor(source: KeyIdSource): Promise<IdentityInput[]> {
    const { keyIds, passphrases } = neededKeys(source)
    const found = await Promise.all([...new Set(keyIds.filter(isKeyId))].map((id) => this.get(id)))
    const keys = found.filter((k): k is StoredKey => k !== undefined)
    if (keys.length > 0) return keys.map(identity)
    const orPassphrase = passphrases > 0 ? ' It can also be opened with its passphrase ({ passphrase }).' : ''
    if (keyIds.length === 0) {
      throw new KeyNotFoundError([], `This object is not encrypted to any stored key.${orPassphrase}`)
    }
    throw new KeyNotFoundError(
      keyIds,
      `This object is encrypted to key id(s) ${keyIds.join(', ')}, and this browser holds none of them. ` +
        'The key may have been deleted, evicted with the site\'s storage, or created in another browser or profile: ' +
        `restore it from its backup file.${orPassphrase}`,
    )
  }
}

function identity(key: StoredKey): IdentityInput {
  // With the public key, core matches the recipient entry by key id instead of trying every entry.
  return key.algorithm === 'A256KW' ? key.key : { publicKey: key.publicKey, privateKey: key.privateKey }
}

function neededKeys(source: KeyIdSource): { readonly keyIds: readonly string[]; readonly passphrases: number } {
  if (source instanceof Uint8Array || (typeof source === 'object' && source !== null && 'recipients' in source)) {
    const header = source instanceof Uint8Array ? parseHeader(source) : source
    return {
      keyIds: header.recipients.map(stanzaKeyId).filter((id): id is string => id !== null),
      passphrases: header.recipients.filter((s) => s.type === StanzaType.PASSPHRASE).length,
    }
  }
  if (typeof source === 'object' && source !== null && Array.isArray(source.keyIds)) return { keyIds: source.keyIds, passphrases: 0 }
  throw new InvalidArgumentError('source must be object bytes, a parsed header, or an error with keyIds.')
}
