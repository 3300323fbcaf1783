/** Sharing public keys: the forms a colleague can import, and a fingerprint to compare them by. */
import { exportPublicKeyPem, fingerprint, rsaKeyId } from '@bucketseal/core'

/** A public key in the forms people and programs exchange. */
export interface ExportedPublicKey {
  /** The key id (32 lowercase hex digits), as object headers name the key. */
  readonly id: string
  /** The key id in groups of four hex digits, short enough to read aloud and compare. */
  readonly fingerprint: string
  /** SubjectPublicKeyInfo as PEM text ("-----BEGIN PUBLIC KEY-----"), as OpenSSL writes it. */
  readonly pem: string
  /** The same key as a JWK (`kty` "RSA", `alg` "RSA-OAEP-256"); no private members. */
  readonly jwk: JsonWebKey
}

/**
 * Exports an RSA-OAEP-256 public key as PEM and JWK, with its key id and fingerprint.
 *
 * @throws {InvalidArgumentError} (core) not an RSA-OAEP SHA-256 public key of 2048-4096 bits.
 * @example
 * const { pem, fingerprint } = await exportPublicKey(pair.publicKey)
 */
export async function exportPublicKey(publicKey: CryptoKey): Promise<ExportedPublicKey> {
  // rsaKeyId validates the key first, so a private or non-RSA key never reaches exportKey.
  const id = await rsaKeyId(publicKey)
  return {
    id,
    fingerprint: await fingerprint(publicKey),
    pem: await exportPublicKeyPem(publicKey),
    jwk: await crypto.subtle.exportKey('jwk', publicKey),
  }
}
