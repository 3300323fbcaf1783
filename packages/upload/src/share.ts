/**
 * Sharing and key rotation for stored objects, without re-encrypting them: the data key is
 * unwrapped in the browser with a key the user holds and wrapped for the new recipients. Adding a
 * recipient can be recorded in the metadata mirror alone (a server-side copy, no body transfer);
 * removing one rewrites the body header, sending the new header plus at most one part of existing
 * ciphertext and copying the rest on the store (UploadPartCopy).
 */
import {
  type IdentityInput,
  type Recipient,
  type RecipientInput,
  type Stanza,
  headerToMetadata,
  parseHeader,
  rewrapHeader,
  rewrapRecipients,
  stanzaKeyId,
  withRecipients,
} from '@bucketseal/core'
import { TransferError } from './errors.js'
import { getBytes } from './fetch-range.js'
import { type SignedRequest, putWithRetry } from './http.js'
import { MIN_PART_SIZE } from './parts.js'
import { type RemoteObject, openRemote, urlSource } from './download.js'
import type { CopyRange, SharingSigner } from './signer.js'

export interface ShareOptions {
  readonly signer: SharingSigner
  /** A key that opens the object now. */
  readonly keys: IdentityInput | readonly IdentityInput[]
  readonly retries?: number
  readonly dangerouslyAllowInsecureUrls?: boolean
}

export interface ShareResult {
  /** `metadata`: recorded in the metadata mirror only; `header`: the body header was rewritten. */
  readonly mode: 'metadata' | 'header'
  /** Bytes sent from the browser to the store (header and at most one part of ciphertext). */
  readonly bytesSent: number
  /** Recipient key ids of the object afterwards. */
  readonly keyIds: readonly string[]
}

/** Largest copy part: S3 allows 5 GiB; smaller parts keep each server-side copy short. */
const COPY_PART = 1024 * 1024 * 1024

function getOpts(o: ShareOptions): { retries?: number; dangerouslyAllowInsecureUrls?: boolean } {
  return {
    ...(o.retries === undefined ? {} : { retries: o.retries }),
    ...(o.dangerouslyAllowInsecureUrls === undefined ? {} : { dangerouslyAllowInsecureUrls: o.dangerouslyAllowInsecureUrls }),
  }
}

function ids(stanzas: readonly Stanza[]): string[] {
  return stanzas.map(stanzaKeyId).filter((id): id is string => id !== null)
}

/** An entry already in the object: it wraps the same data key, so it is kept byte for byte. */
function kept(stanza: Stanza): Recipient {
  return { wrap: async () => stanza }
}

/** The object's recipient entries: the body header's, plus any shared through the metadata mirror. */
function currentStanzas(remote: RemoteObject): Stanza[] {
  const all = [...remote.header.recipients]
  const seen = new Set(all.map(stanzaFingerprint))
  for (const s of remote.mirrored) if (!seen.has(stanzaFingerprint(s))) all.push(s)
  return all
}

function stanzaFingerprint(s: Stanza): string {
  return `${s.type}:${Array.from(s.body, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * Makes an object readable by more recipients without re-uploading it. The new entries go into the
 * metadata mirror with a server-side copy of the object onto itself; readers accept them only if
 * they unwrap to the data key the body header commits to. When the mirror would exceed the store's
 * 2 KB metadata limit (about three RSA-3072 recipients), the body header is rewritten instead.
 *
 * @throws {WrongKeyError} `options.keys` does not open the object. {TransferError} on the network.
 * @example
 * await shareObject(objectKey, [colleaguePublicKey], { signer, keys: me })
 */
export async function shareObject(objectKey: string, recipients: readonly RecipientInput[], options: ShareOptions): Promise<ShareResult> {
  const remote = await openRemote(objectKey, { signer: options.signer, keys: options.keys, ...getOpts(options) })
  const current = currentStanzas(remote)
  // Unwrap from any current entry, metadata ones included: the body's commitment still decides.
  const added = await rewrapRecipients(withRecipients(remote.header, current), { keys: options.keys, recipients })
  const all = [...current, ...added]
  const meta = headerToMetadata(remote.header, { prefix: '', recipients: all })
  if (meta['client-side-encryption-key'] === undefined) {
    // Too many entries for 2 KB of metadata: put them all in the body header instead.
    const header = await rewrapHeader(withRecipients(remote.header, current), { keys: options.keys, recipients: all.map(kept) })
    return rewriteHeader(remote, header, options)
  }
  await options.signer.replaceMetadata(objectKey, meta)
  return { mode: 'metadata', bytesSent: 0, keyIds: ids(all) }
}

/**
 * Replaces an object's recipient list, removing any entry not listed: the body header is rewritten
 * (new header ‖ the same chunks) and the metadata mirror with it. The browser sends the new header
 * and at most one part (5 MiB) of existing ciphertext; the store copies the rest itself.
 *
 * Removing a recipient stops its master key from opening the object. A party that held the data key
 * before may have kept it; only re-encrypting the object (uploading it again) revokes that.
 *
 * @throws {WrongKeyError} `options.keys` does not open the object. {TransferError} on the network.
 * @example
 * await setRecipients(objectKey, [me.publicKey, newTeamKey], { signer, keys: me })
 */
export async function setRecipients(objectKey: string, recipients: readonly RecipientInput[], options: ShareOptions): Promise<ShareResult> {
  const remote = await openRemote(objectKey, { signer: options.signer, keys: options.keys, ...getOpts(options) })
  const current = currentStanzas(remote)
  const header = await rewrapHeader(withRecipients(remote.header, current), { keys: options.keys, recipients })
  return rewriteHeader(remote, header, options)
}

export interface RotateProgress {
  readonly seen: number
  readonly rotated: number
  readonly skipped: number
  readonly failed: number
}

export interface RotateResult extends RotateProgress {
  /** Objects that could not be rotated, with the error code (e.g. WRONG_KEY: not ours to open). */
  readonly failures: ReadonlyArray<{ readonly objectKey: string; readonly code: string; readonly message: string }>
}

export interface RotateOptions extends ShareOptions {
  readonly onProgress?: (progress: RotateProgress) => void
  readonly signal?: AbortSignal
}

/**
 * Retires a master key under a prefix: every object with an entry for `retiredKeyId` gets that entry
 * removed and `replacement` added, by a header rewrite (no re-encryption). Objects without it are
 * skipped, so running it again after an interruption simply carries on: it is resumable by being
 * idempotent. Objects the given keys cannot open are reported, not fatal.
 *
 * @example
 * const r = await rotateRecipients('users/42/', leakedKeyId, [newPublicKey], { signer, keys: [oldPair, newPair] })
 */
export async function rotateRecipients(prefix: string, retiredKeyId: string, replacement: readonly RecipientInput[], options: RotateOptions): Promise<RotateResult> {
  let seen = 0
  let rotated = 0
  let skipped = 0
  const failures: Array<{ objectKey: string; code: string; message: string }> = []
  let token: string | undefined
  do {
    const page = await options.signer.list(prefix, token)
    token = page.continuationToken
    for (const object of page.objects) {
      if (options.signal?.aborted === true) throw new TransferError('ABORTED', 'The rotation was cancelled; run it again to carry on.')
      seen++
      try {
        const remote = await openRemote(object.key, { signer: options.signer, keys: options.keys, ...getOpts(options) })
        const current = currentStanzas(remote)
        const keep = current.filter((s) => stanzaKeyId(s) !== retiredKeyId)
        if (keep.length === current.length) {
          skipped++
        } else {
          const header = await rewrapHeader(withRecipients(remote.header, current), { keys: options.keys, recipients: [...keep.map(kept), ...replacement] })
          await rewriteHeader(remote, header, options)
          rotated++
        }
      } catch (e) {
        if (e instanceof TransferError && e.code === 'ABORTED') throw e
        const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : 'ERROR'
        failures.push({ objectKey: object.key, code, message: e instanceof Error ? e.message : String(e) })
      }
      options.onProgress?.({ seen, rotated, skipped, failed: failures.length })
    }
  } while (token !== undefined)
  return { seen, rotated, skipped, failed: failures.length, failures }
}

async function rewriteHeader(remote: RemoteObject, header: Uint8Array, options: ShareOptions): Promise<ShareResult> {
  const { signer } = options
  const key = remote.objectKey
  const info = await signer.head(key)
  if (info.size !== remote.storedSize) {
    throw new TransferError('BAD_STATE', `The object "${key}" changed while its recipients were being rewritten; try again.`)
  }
  const bodyStart = remote.header.length
  // Part 1: the new header and enough existing ciphertext to reach S3's 5 MiB minimum (or all of it).
  const firstEnd = bodyStart + Math.min(remote.storedSize - bodyStart, MIN_PART_SIZE)
  const head = await getBytes(urlSource(signer, key), bodyStart, firstEnd, getOpts(options))
  if (head.length !== firstEnd - bodyStart) throw new TransferError('BAD_STATE', `The object "${key}" is shorter than expected.`)
  const part1 = new Uint8Array(header.length + head.length)
  part1.set(header, 0)
  part1.set(head, header.length)
  const uploadId = await signer.createMultipart(key, headerToMetadata(header, { prefix: '' }), 'application/octet-stream')
  try {
    const ranges: CopyRange[] = []
    for (let start = firstEnd, n = 2; start < remote.storedSize; start += COPY_PART, n++) {
      ranges.push({ partNumber: n, start, end: Math.min(start + COPY_PART, remote.storedSize) })
    }
    const signPart = async (): Promise<SignedRequest> => {
      const request = (await signer.signParts(key, uploadId, [1])).get(1)
      if (request === undefined) throw new TransferError('BAD_STATE', 'No URL for part 1.')
      return request
    }
    const [etag1, copied] = await Promise.all([
      putWithRetry(signPart, part1, getOpts(options)),
      ranges.length === 0 ? Promise.resolve([]) : signer.copyParts(key, uploadId, info.etag, ranges),
    ])
    await signer.complete(key, uploadId, [{ partNumber: 1, etag: etag1 }, ...copied].sort((a, b) => a.partNumber - b.partNumber))
  } catch (e) {
    await signer.abort(key, uploadId).catch(() => undefined)
    throw e
  }
  return { mode: 'header', bytesSent: part1.length, keyIds: ids(parseHeader(header).recipients) }
}
