/** Known recipients: colleagues' public keys, kept to encrypt objects for them. */
import { type PublicKeyInput, importPublicKey } from '@bucketseal/core'
import type { UseStore } from 'idb-keyval'
import { KeyCollection } from './collection.js'
import { type KnownRecipient, checkName, publicKeyEntry, readRecipient } from './records.js'

/** The record layout version and kind: recipients never share keys with own keys (see store.ts). */
const RECIPIENT_PREFIX = 'v1/recipient/'

/** The known recipients of a {@link KeyStore}: `keys.recipients`. */
export class KnownRecipients extends KeyCollection<KnownRecipient> {
  /**
   * @throws never.
   * @example
   * const recipients = new KeyStore().recipients
   */
  constructor(idb: UseStore) {
    super(idb, RECIPIENT_PREFIX, readRecipient)
  }

  /**
   * Imports a colleague's public key and keeps it. It must be an RSA-OAEP SHA-256 key of 2048 to
   * 4096 bits, as SPKI DER bytes, PEM text or a JWK. Compare its fingerprint with the colleague's
   * over another channel before trusting it. Adding a key that is already known keeps the existing
   * entry (and its name) and returns it.
   *
   * @throws {InvalidArgumentError} (core) malformed, not RSA-OAEP SHA-256, smaller than 2048 bits, or a bad name.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * const alice = await keys.recipients.add('Alice', pemText)
   * const sealed = await encrypt(data, { recipients: [alice.publicKey, myKey.publicKey] })
   */
  async add(name: string, publicKey: PublicKeyInput): Promise<KnownRecipient> {
    checkName(name)
    return this.addIfAbsent(await publicKeyEntry(name, Date.now(), await importPublicKey(publicKey)))
  }
}
