/**
 * The metadata mirror: a header expressed as object-storage user metadata, under the names of the
 * OSS client-side encryption table, so tools and people can see what an object is without reading
 * its body, and a reader can open it without a ranged GET. The body header stays the source of
 * truth; nothing in the mirror is trusted (FORMAT.md, "Metadata mirror").
 */
import { aint, concat, fromBase64, toBase64 } from './bytes.js'
import { BadHeaderError, InvalidArgumentError } from './errors.js'
import { type Header, type Stanza, COMMITMENT_LENGTH, MAX_HEADER_LENGTH, PREAMBLE_LENGTH, encodeStanzas, parseHeader, parsePreamble, parseStanzas } from './header.js'
import { StanzaType, stanzaKeyId } from './recipients.js'

/** Name prefixes of the providers' user metadata. Any other lowercase prefix is accepted too. */
export const METADATA_PREFIXES = ['x-amz-meta-', 'x-oss-meta-', 'x-cos-meta-', 'x-bce-meta-'] as const

/** S3's limit on user metadata: keys plus values, in UTF-8 bytes. */
export const S3_METADATA_LIMIT = 2048

/** The value of `client-side-encryption-cek-alg` for this format version and suite. */
export const CEK_ALG = 'BKSL1/AES-256-GCM/HKDF-SHA-256/STREAM'

const N = {
  key: 'client-side-encryption-key',
  start: 'client-side-encryption-start',
  cekAlg: 'client-side-encryption-cek-alg',
  wrapAlg: 'client-side-encryption-wrap-alg',
  matdesc: 'client-side-encryption-matdesc',
  length: 'client-side-encryption-unencrypted-content-length',
  dataSize: 'client-side-encryption-data-size',
  partSize: 'client-side-encryption-part-size',
} as const

const WRAP_ALG_NAMES: Readonly<Record<number, string>> = {
  [StanzaType.RSA_OAEP_256]: 'RSA-OAEP-256',
  [StanzaType.AES_KW_256]: 'A256KW',
  [StanzaType.PASSPHRASE]: 'PBES2-HS256+A256KW',
  // The name the AWS S3 Encryption Client gives a KMS wrap with an encryption context.
  [StanzaType.KMS]: 'kms+context',
}

export interface MirrorOptions {
  /** Metadata name prefix, e.g. `x-amz-meta-` (default) or `x-oss-meta-`. */
  readonly prefix?: string
  /** Bytes of metadata this mirror may use; default 2048 (S3's limit). Lower it to leave room for yours. */
  readonly budget?: number
  /** For multipart uploads: the plaintext part size, written as `-part-size` with `-data-size`. */
  readonly partSize?: number
  /**
   * Mirror these recipient entries instead of the header's own: a share recorded in metadata only
   * (readers accept them only under the body header's key commitment).
   */
  readonly recipients?: readonly Stanza[]
}

/** What the mirror says about an object. Untrusted until the chunks authenticate. */
export interface MirroredHeader {
  /** A header rebuilt from the mirror (without private metadata), or `null` when the recipients did not fit. */
  readonly header: Header | null
  readonly headerLength: number
  readonly chunkSize: number
  readonly plaintextLength: number | null
  readonly keyIds: readonly string[]
  /** `true` when the recipient entries are in the mirror; otherwise read them from the body header. */
  readonly hasRecipients: boolean
  readonly partSize: number | null
}

function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !/^[a-z0-9-]*$/.test(prefix)) {
    throw new InvalidArgumentError('prefix must be lowercase letters, digits and dashes, like "x-amz-meta-".')
  }
  return prefix
}

/**
 * Expresses a header as user metadata. The recipients (`-key`) are included only if everything fits
 * in `budget`; otherwise the mirror says `"recipients":"body"` and readers take them from the body.
 * Key ids are dropped last, and the mirror says so when it had to.
 *
 * @param header the object's header: bytes (or the object's first bytes), or parsed.
 * @throws {InvalidArgumentError} | {BadHeaderError}
 * @example
 * const meta = headerToMetadata(header, { prefix: 'x-oss-meta-' })
 */
export function headerToMetadata(header: Uint8Array | Header, options: MirrorOptions = {}): Record<string, string> {
  const h = header instanceof Uint8Array ? parseHeader(header) : header
  const prefix = checkPrefix(options.prefix ?? 'x-amz-meta-')
  const budget = aint(options.budget ?? S3_METADATA_LIMIT, 'budget', 0, 1 << 20)
  const stanzas = options.recipients ?? h.recipients
  if (stanzas.length === 0) throw new InvalidArgumentError('recipients must not be empty.')
  const ids = stanzas.map(stanzaKeyId).filter((id): id is string => id !== null)
  const out: Record<string, string> = {
    [prefix + N.cekAlg]: CEK_ALG,
    [prefix + N.wrapAlg]: stanzas.map((s) => WRAP_ALG_NAMES[s.type] ?? `type-${s.type}`).join(','),
    [prefix + N.start]: toBase64(concat([h.preamble, h.commitment])),
  }
  if (h.plaintextLength !== null) out[prefix + N.length] = String(h.plaintextLength)
  if (options.partSize !== undefined) {
    out[prefix + N.partSize] = String(aint(options.partSize, 'partSize', 1, Number.MAX_SAFE_INTEGER))
    if (h.plaintextLength !== null) out[prefix + N.dataSize] = String(h.plaintextLength)
  }
  const size = (m: Record<string, string>): number => Object.entries(m).reduce((n, [k, v]) => n + k.length + v.length, 0)
  const withKey = { ...out, [prefix + N.key]: toBase64(encodeStanzas(stanzas)) }
  const matdesc = (recipients: 'meta' | 'body', kid: readonly string[], partial: boolean): string =>
    JSON.stringify({ v: 1, hdr: h.length, recipients, kid, ...(partial ? { kidPartial: true } : {}) })
  const full = { ...withKey, [prefix + N.matdesc]: matdesc('meta', ids, false) }
  if (size(full) <= budget) return full
  let kid = ids
  let candidate = { ...out, [prefix + N.matdesc]: matdesc('body', kid, false) }
  while (size(candidate) > budget && kid.length > 0) {
    kid = kid.slice(0, -1)
    candidate = { ...out, [prefix + N.matdesc]: matdesc('body', kid, true) }
  }
  if (size(candidate) > budget) throw new InvalidArgumentError(`Even the smallest mirror needs ${size(candidate)} bytes; the budget is ${budget}.`)
  return candidate
}

/**
 * Reads a mirror back from user metadata (names with or without the prefix; any case, as stores
 * and SDKs differ). Returns `null` when the metadata has no Bucketseal mirror.
 *
 * @throws {BadHeaderError} a mirror that is present but malformed.
 * @throws {UnsupportedVersionError} a mirror of another format version.
 */
export function metadataToHeader(metadata: Readonly<Record<string, string>>, options: Pick<MirrorOptions, 'prefix'> = {}): MirroredHeader | null {
  const prefix = checkPrefix(options.prefix ?? 'x-amz-meta-')
  const lower = new Map<string, string>()
  for (const [k, v] of Object.entries(metadata)) lower.set(k.toLowerCase(), v)
  const get = (name: string): string | undefined => lower.get(prefix + name) ?? lower.get(name)
  const cek = get(N.cekAlg)
  if (cek === undefined) return null
  if (cek !== CEK_ALG) throw new BadHeaderError(`The object's metadata names an unknown content algorithm "${cek}".`)
  const start = decode(get(N.start), 'start')
  if (start.length !== PREAMBLE_LENGTH + COMMITMENT_LENGTH) throw new BadHeaderError('The metadata mirror "start" field has the wrong length.')
  let desc: unknown
  try {
    desc = JSON.parse(get(N.matdesc) ?? '')
  } catch {
    throw new BadHeaderError('The metadata mirror "matdesc" field is not JSON.')
  }
  if (typeof desc !== 'object' || desc === null || !('hdr' in desc) || typeof desc.hdr !== 'number') {
    throw new BadHeaderError('The metadata mirror "matdesc" field lacks the header length.')
  }
  const kid = 'kid' in desc && Array.isArray(desc.kid) ? desc.kid.filter((k): k is string => typeof k === 'string') : []
  const headerLength = desc.hdr
  if (!Number.isSafeInteger(headerLength) || headerLength < 102 || headerLength > MAX_HEADER_LENGTH) {
    throw new BadHeaderError('The metadata mirror gives an impossible header length.')
  }
  const partText = get(N.partSize)
  const partSize = partText === undefined ? null : Number(partText)
  if (partSize !== null && !Number.isSafeInteger(partSize)) throw new BadHeaderError('The metadata mirror "part-size" is not a number.')
  const keyField = get(N.key)
  const fixed = parsePreamble(start)
  // The recipients the mirror carries, bound to its preamble and commitment; `length` is the body
  // header's, where the chunks start.
  const recipients = keyField === undefined ? null : parseStanzas(decode(keyField, 'key'))
  const header: Header | null =
    recipients === null
      ? null
      : { ...fixed, length: headerLength, commitment: start.slice(PREAMBLE_LENGTH), sealedMetadata: new Uint8Array(0), recipients }
  return {
    header,
    headerLength,
    chunkSize: fixed.chunkSize,
    plaintextLength: fixed.plaintextLength,
    keyIds: recipients === null ? kid : recipients.map(stanzaKeyId).filter((id): id is string => id !== null),
    hasRecipients: keyField !== undefined,
    partSize,
  }
}

function decode(value: string | undefined, field: string): Uint8Array {
  if (value === undefined) throw new BadHeaderError(`The metadata mirror lacks its "${field}" field.`)
  try {
    return fromBase64(value, field)
  } catch {
    throw new BadHeaderError(`The metadata mirror "${field}" field is not valid base64.`)
  }
}
