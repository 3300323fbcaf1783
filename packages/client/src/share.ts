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
  openHeader,
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
  // Pinned to the version read: a concurrent writer makes the store refuse the copy instead of
  // leaving metadata that describes another object.
  await options.signer.replaceMetadata(objectKey, meta, remote.etag)
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
  /**
   * Without `retiredKey`: per object seen, the entries kept on trust (neither labelled with the
   * retired id nor opened by the caller's keys): a bucket writer could have relabelled the retired
   * key's entry as one of these. Give `retiredKey` to check them, or re-encrypt the objects.
   */
  readonly unverified: ReadonlyArray<{ readonly objectKey: string; readonly keyIds: readonly string[] }>
  /** Entries found only in the metadata mirror: never carried into a rewritten header, so dropped. */
  readonly droppedMirrored: ReadonlyArray<{ readonly objectKey: string; readonly keyIds: readonly string[] }>
}

export interface RotateOptions extends ShareOptions {
  readonly onProgress?: (progress: RotateProgress) => void
  readonly signal?: AbortSignal
  /**
   * The retired key itself, when you still hold it: every entry it opens is removed, whatever key id
   * it is labelled with (labels are not authenticated). Without it, entries are told apart by label
   * only, and the result lists what it could not check.
   */
  readonly retiredKey?: IdentityInput
}

/** The retired key as an identity that tries every entry of its kind, not only the one labelled for it. */
function unlabelled(key: IdentityInput): IdentityInput {
  return typeof key === 'object' && key !== null && 'privateKey' in key ? key.privateKey : key
}

/** Whether `key` opens `stanza` as an entry of this object (under its commitment). */
async function opens(remote: RemoteObject, stanza: Stanza, key: IdentityInput | readonly IdentityInput[]): Promise<boolean> {
  try {
    await openHeader(withRecipients(remote.header, [stanza]), key)
    return true
  } catch {
    return false
  }
}

/**
 * Retires a master key under a prefix: every object with an entry for `retiredKeyId` gets that entry
 * removed and `replacement` added, by a header rewrite (no re-encryption). Objects without it are
 * skipped, so running it again after an interruption simply carries on: it is resumable by being
 * idempotent. Objects the given keys cannot open are reported, not fatal.
 *
 * Key-id labels are not authenticated, so only the body header's entries are kept (an entry found
 * only in the metadata mirror is dropped and reported), and with `retiredKey` every entry that key
 * opens is removed, whatever its label. Without `retiredKey`, `unverified` lists what was kept on
 * trust. A party that kept the data key itself keeps access until the object is re-encrypted.
 *
 * @throws {TransferError} ABORTED when `signal` aborts (run it again to carry on); listing failures.
 * @example
 * const r = await rotateRecipients('users/42/', leakedKeyId, [newPublicKey], { signer, keys: [newPair], retiredKey: oldPair })
 */
export async function rotateRecipients(prefix: string, retiredKeyId: string, replacement: readonly RecipientInput[], options: RotateOptions): Promise<RotateResult> {
  let seen = 0
  let rotated = 0
  let skipped = 0
  const failures: Array<{ objectKey: string; code: string; message: string }> = []
  const unverified: Array<{ objectKey: string; keyIds: string[] }> = []
  const droppedMirrored: Array<{ objectKey: string; keyIds: string[] }> = []
  const retired = options.retiredKey === undefined ? undefined : unlabelled(options.retiredKey)
  let token: string | undefined
  do {
    const page = await options.signer.list(prefix, token)
    token = page.continuationToken
    for (const object of page.objects) {
      if (options.signal?.aborted === true) throw new TransferError('ABORTED', 'The rotation was cancelled; run it again to carry on.')
      seen++
      try {
        const remote = await openRemote(object.key, { signer: options.signer, keys: options.keys, ...getOpts(options) })
        const body = remote.header.recipients
        const inBody = new Set(body.map(stanzaFingerprint))
        const mirrorOnly = remote.mirrored.filter((s) => !inBody.has(stanzaFingerprint(s)))
        const isRetired = async (s: Stanza): Promise<boolean> => stanzaKeyId(s) === retiredKeyId || (retired !== undefined && (await opens(remote, s, retired)))
        const keep: Stanza[] = []
        for (const s of body) if (!(await isRetired(s))) keep.push(s)
        let mirroredRetired = false
        for (const s of mirrorOnly) if (await isRetired(s)) mirroredRetired = true
        if (retired === undefined) {
          // Kept on trust: entries neither the retired label nor one of the caller's own keys.
          const unchecked: Stanza[] = []
          for (const s of keep) if (!(await opens(remote, s, options.keys))) unchecked.push(s)
          if (unchecked.length > 0) unverified.push({ objectKey: object.key, keyIds: ids(unchecked) })
        }
        if (keep.length === body.length && !mirroredRetired) {
          skipped++
        } else {
          // The data key may come from any entry (the commitment decides), but only the body's entries
          // are kept, never the mirror's.
          const header = await rewrapHeader(withRecipients(remote.header, [...body, ...mirrorOnly]), { keys: options.keys, recipients: [...keep.map(kept), ...replacement] })
          await rewriteHeader(remote, header, options)
          rotated++
          if (mirrorOnly.length > 0) droppedMirrored.push({ objectKey: object.key, keyIds: ids(mirrorOnly) })
        }
      } catch (e) {
        if (e instanceof TransferError && e.code === 'ABORTED') throw e
        const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : 'ERROR'
        failures.push({ objectKey: object.key, code, message: e instanceof Error ? e.message : String(e) })
      }
      options.onProgress?.({ seen, rotated, skipped, failed: failures.length })
    }
  } while (token !== undefined)
  return { seen, rotated, skipped, failed: failures.length, failures, unverified, droppedMirrored }
}

async function rewriteHeader(remote: RemoteObject, header: Uint8Array, options: ShareOptions): Promise<ShareResult> {
  const { signer } = options
  const key = remote.objectKey
  // Every step is pinned to the version that was opened (If-Match on the read, copy-source-if-match
  // on the copies); this HEAD also catches a store that ignores those conditions, if it is fast.
  const info = await signer.head(key)
  if (info.size !== remote.storedSize || (remote.etag !== '' && info.etag !== remote.etag)) {
    throw new TransferError('BAD_STATE', `The object "${key}" changed while its recipients were being rewritten; try again.`)
  }
  const bodyStart = remote.header.length
  // Part 1: the new header and enough existing ciphertext to reach S3's 5 MiB minimum (or all of it).
  const firstEnd = bodyStart + Math.min(remote.storedSize - bodyStart, MIN_PART_SIZE)
  const head = await getBytes(urlSource(signer, key), bodyStart, firstEnd, { ...getOpts(options), ifMatch: remote.etag })
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
      ranges.length === 0 ? Promise.resolve([]) : signer.copyParts(key, uploadId, remote.etag, ranges),
    ])
    await signer.complete(key, uploadId, [{ partNumber: 1, etag: etag1 }, ...copied].sort((a, b) => a.partNumber - b.partNumber))
  } catch (e) {
    await signer.abort(key, uploadId).catch(() => undefined)
    throw e
  }
  return { mode: 'header', bytesSent: part1.length, keyIds: ids(parseHeader(header).recipients) }
}
