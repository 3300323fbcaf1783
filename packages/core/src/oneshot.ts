/** One-shot encryption and decryption of a byte array held in memory. */
import { abytes } from './bytes.js'
import { sealChunk } from './chunk.js'
import { type CreateObjectOptions, type OpenedObject, createObject, openObject } from './object.js'
import { DEFAULT_DEPTH, OrderedQueue, Opener } from './pipeline.js'
import type { IdentityInput } from './recipients.js'
import { TAG_LENGTH } from './header.js'
import { chunkCount } from './size.js'

export type EncryptOptions = Omit<CreateObjectOptions, 'plaintextLength'>

/**
 * Encrypts `plaintext` into a complete Bucketseal object (header and chunks) in a new buffer.
 * For large inputs prefer {@link encryptBlob} or {@link encryptStream}: this holds both in memory.
 *
 * @throws {InvalidArgumentError} bad plaintext or options.
 * @example
 * const sealed = await encrypt(new TextEncoder().encode('hello'), { recipients: [publicKey] })
 */
export async function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
  abytes(plaintext, 'plaintext')
  const { header, key } = await createObject({ ...options, plaintextLength: plaintext.length })
  const size = key.chunkSize
  const count = chunkCount(plaintext.length, size)
  const out = new Uint8Array(header.length + plaintext.length + count * TAG_LENGTH)
  out.set(header, 0)
  let offset = header.length
  const queue = new OrderedQueue(DEFAULT_DEPTH, (bytes) => {
    out.set(bytes, offset)
    offset += bytes.length
  })
  for (let i = 0; i < count; i++) {
    await queue.push(sealChunk(key, i, plaintext.subarray(i * size, (i + 1) * size), i === count - 1))
  }
  await queue.drain()
  return out
}

/**
 * Decrypts a complete object with one of `keys`, and returns the plaintext only if every chunk
 * authenticated and the object is whole.
 *
 * @throws {WrongKeyError} | {CommitmentMismatchError} | {TamperedError} | {TruncatedError}
 *   | {BadHeaderError} | {UnsupportedVersionError}
 * @example
 * const plaintext = await decrypt(sealed, keyPair)
 */
export async function decrypt(ciphertext: Uint8Array, keys: IdentityInput | readonly IdentityInput[]): Promise<Uint8Array> {
  return (await decryptObject(ciphertext, keys)).plaintext
}

/** Like {@link decrypt}, and also returns the opened header and private metadata. */
export async function decryptObject(
  ciphertext: Uint8Array,
  keys: IdentityInput | readonly IdentityInput[],
): Promise<OpenedObject & { readonly plaintext: Uint8Array }> {
  abytes(ciphertext, 'ciphertext')
  const opened = await openObject(ciphertext, keys)
  const parts: Uint8Array[] = []
  let length = 0
  const opener = new Opener(opened.key, (bytes) => {
    parts.push(bytes)
    length += bytes.length
  })
  await opener.push(ciphertext.subarray(opened.header.length))
  await opener.finish()
  const plaintext = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    plaintext.set(p, offset)
    offset += p.length
  }
  return { ...opened, plaintext }
}
