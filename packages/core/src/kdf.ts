// Per-object key derivation and key commitment (FORMAT.md, "Key schedule").
import { buf, concat, utf8 } from './bytes.js'
import { COMMITMENT_LENGTH } from './header.js'

const CONTENT_KEY_INFO = utf8('bucketseal/v1/content-key')
const COMMITMENT_INFO = utf8('bucketseal/v1/commitment')

export interface DerivedKeys {
  /**
   * AES-256-GCM, non-extractable: the bytes of the content key never exist outside WebCrypto. With
   * one usage only: a writer's key can seal and not open, a reader's can open and not seal.
   */
  readonly contentKey: CryptoKey
  readonly commitment: Uint8Array
}

/**
 * Derives the content key and the key commitment from the data key. The preamble (magic, version,
 * suite, chunk size, plaintext length, salt, nonce prefix) is part of both HKDF `info` strings, so
 * changing any fixed header field changes the content key and every chunk fails to authenticate.
 *
 * `usage` is the one thing the caller will do with the content key. A reader's key that cannot
 * encrypt keeps a co-recipient's app (or a script that reaches its key object) from sealing forged
 * chunks with it through this library; it is a guard against misuse, not a cryptographic barrier, as
 * whoever holds the data key can derive a key with both usages.
 */
export async function deriveKeys(dek: Uint8Array, salt: Uint8Array, preamble: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<DerivedKeys> {
  const ikm = await crypto.subtle.importKey('raw', buf(dek), 'HKDF', false, ['deriveKey', 'deriveBits'])
  const params = (info: Uint8Array): HkdfParams => ({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: buf(salt),
    info: buf(concat([info, preamble])),
  })
  const [contentKey, commitment] = await Promise.all([
    crypto.subtle.deriveKey(params(CONTENT_KEY_INFO), ikm, { name: 'AES-GCM', length: 256 }, false, [usage]),
    crypto.subtle.deriveBits(params(COMMITMENT_INFO), ikm, COMMITMENT_LENGTH * 8),
  ])
  return { contentKey, commitment: new Uint8Array(commitment) }
}
