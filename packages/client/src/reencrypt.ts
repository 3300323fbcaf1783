/**
 * Re-encryption: the one way to revoke a party that may have kept an object's data key. The object
 * is downloaded and verified, then uploaded again under a fresh data key (new salt, nonces and key
 * commitment) to the same object key; completing the upload replaces the old object atomically, so a
 * failure leaves the old one in place.
 */
import type { RecipientInput } from '@bucketseal/core'
import { TransferError } from './errors.js'
import { DEFAULT_MAX_BLOB_SIZE, download } from './download.js'
import type { ShareOptions } from './share.js'
import { type UploadOptions, type UploadResult, upload } from './upload.js'

export interface ReencryptOptions extends ShareOptions {
  /**
   * Largest object re-encrypted here: the plaintext is held in memory (a Blob) between the download
   * and the upload, never written to disk by this code. Default 512 MiB.
   */
  readonly maxSize?: number
  /** Passed to the upload (part size, concurrency, progress, store for resume state). */
  readonly upload?: Omit<UploadOptions, 'signer' | 'recipients' | 'objectKey' | 'keyPrefix' | 'metadata' | 'resumeKey' | 'restart'>
}

/**
 * Encrypts a stored object again under a new data key for `recipients`, replacing it in place.
 * Unlike {@link setRecipients}, this also shuts out anyone who kept the old data key.
 *
 * @throws {WrongKeyError} `options.keys` does not open the object. {TransferError} INVALID_ARGUMENT
 *   when the object is larger than `maxSize`; network errors.
 * @example
 * await reencryptObject(objectKey, [me.publicKey], { signer, keys: me })
 */
export async function reencryptObject(objectKey: string, recipients: readonly RecipientInput[], options: ReencryptOptions): Promise<UploadResult> {
  const { object, stream } = await download(objectKey, {
    signer: options.signer,
    keys: options.keys,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
  })
  const limit = options.maxSize ?? DEFAULT_MAX_BLOB_SIZE
  if (object.size > limit) {
    await stream.cancel()
    throw new TransferError('INVALID_ARGUMENT', `The object is ${object.size} bytes; re-encryption here holds it in memory and is limited to ${limit} bytes.`)
  }
  const parts: Uint8Array<ArrayBuffer>[] = []
  const reader = stream.getReader()
  for (let next = await reader.read(); next.done !== true; next = await reader.read()) {
    const b = next.value.buffer
    parts.push(b instanceof ArrayBuffer ? new Uint8Array(b, next.value.byteOffset, next.value.length) : new Uint8Array(next.value))
  }
  const name = object.metadata?.name ?? objectKey
  const file = new File(parts, name, { type: object.metadata?.type ?? '', lastModified: object.metadata?.lastModified ?? 0 })
  parts.length = 0
  const run = (restart: boolean): Promise<UploadResult> =>
    upload(file, {
      ...options.upload,
      signer: options.signer,
      recipients,
      objectKey,
      // The same private metadata, sealed again under the new key.
      ...(object.metadata === null ? {} : { metadata: object.metadata }),
      resumeKey: `bucketseal:reencrypt:${objectKey}`,
      restart,
      ...(options.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: options.dangerouslyAllowInsecureUrls }),
      ...(options.retries === undefined ? {} : { retries: options.retries }),
    }).done
  try {
    // An interrupted re-encryption to the same recipients carries on where it stopped.
    return await run(false)
  } catch (e) {
    // One started for other recipients must never be resumed (it would keep a revoked key): start over.
    if (e instanceof TransferError && e.code === 'RESUME_MISMATCH') return await run(true)
    throw e
  }
}
