/**
 * The metadata mirror: a header expressed as object-storage user metadata, under the names of the
 * OSS client-side encryption table, so tools and people can see what an object is without reading
 * its body, and a reader can open it without a ranged GET. The body header stays the source of
 * truth; nothing in the mirror is trusted (FORMAT.md, "Metadata mirror").
 */
import { aint, concat, fromBase64, toBase64 } from './bytes.js'
import { BadHeaderError, InvalidArgumentError, UnsupportedVersionError } from './errors.js'
import { type JsonValue, jsonSafeInteger, parseStrictJson } from './json.js'
import { type Header, type Stanza, COMMITMENT_LENGTH, MAX_HEADER_LENGTH, MAX_RECIPIENTS, MIN_HEADER_LENGTH, PREAMBLE_LENGTH, encodeStanzas, parseHeader, parsePreamble, parseStanzas } from './header.js'
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
 * @throws {InvalidArgumentError} even the smallest mirror (no entries, no key ids) does not fit in
 *   `budget`: store none then (FORMAT.md §7); a bad prefix, budget or part size.
 * @param header the object's header: bytes (or the object's first bytes), or parsed.
 * @throws {BadHeaderError} `header` bytes that do not parse.
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
    [prefix + N.wrapAlg]: stanzas.map(wrapAlgName).join(','),
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
 * Reads a mirror back from user metadata, by the rules of FORMAT.md §7 ("Reading a mirror"): names
 * in any case, with the given prefix, a provider's prefix ({@link METADATA_PREFIXES}) or none (SDKs
 * strip it); every field checked, and cross-checked against the others. Returns `null` when the
 * metadata has no `client-side-encryption-cek-alg`: no mirror. Nothing in a mirror is trusted: its
 * entries open only under the body header's commitment.
 *
 * @throws {BadHeaderError} a mirror that is present but malformed, ambiguous (two prefixes, or two
 *   names that differ only in case) or inconsistent.
 * @throws {UnsupportedVersionError} a mirror of another format version (`BKSL2/…`, `"v":2`).
 * @example
 * const mirror = metadataToHeader(head.metadata) // null: no mirror, read the body header
 */
export function metadataToHeader(metadata: Readonly<Record<string, string>>, options: Pick<MirrorOptions, 'prefix'> = {}): MirroredHeader | null {
  const given = checkPrefix(options.prefix ?? 'x-amz-meta-')
  const lower = new Map<string, string>()
  for (const [k, v] of Object.entries(metadata)) {
    const name = k.toLowerCase()
    if (lower.has(name) && name.includes('client-side-encryption-')) {
      throw new BadHeaderError(`The metadata mirror has the field "${name}" twice (names differ only in case).`)
    }
    lower.set(name, v)
  }
  const prefixes = [...new Set([given, ...METADATA_PREFIXES, ''])].filter((p) => lower.has(p + N.cekAlg))
  const prefix = prefixes[0]
  if (prefix === undefined) return null
  if (prefixes.length > 1) throw new BadHeaderError(`The metadata holds two mirrors (prefixes ${prefixes.map((p) => JSON.stringify(p)).join(' and ')}).`)
  const get = (name: string): string | undefined => lower.get(prefix + name)
  const cek = get(N.cekAlg) ?? ''
  if (cek !== CEK_ALG) {
    if (/^BKSL[0-9]+\//.test(cek)) throw new UnsupportedVersionError(`The object's metadata mirror is of another format version ("${cek}").`)
    throw new BadHeaderError(`The object's metadata names an unknown content algorithm "${cek}".`)
  }
  const start = decode(get(N.start), 'start')
  if (start.length !== PREAMBLE_LENGTH + COMMITMENT_LENGTH) throw new BadHeaderError('The metadata mirror "start" field has the wrong length.')
  const fixed = parsePreamble(start)
  const kinds = parseWrapAlg(get(N.wrapAlg))
  const desc = parseMatdesc(get(N.matdesc))
  const keyField = get(N.key)
  if ((keyField !== undefined) !== (desc.recipients === 'meta')) {
    throw new BadHeaderError(`The metadata mirror says its recipients are in the ${desc.recipients === 'meta' ? 'mirror' : 'body'}, but it ${keyField === undefined ? 'lacks' : 'has'} a "key" field.`)
  }
  const recipients = keyField === undefined ? null : parseStanzas(decode(keyField, 'key'))
  if (recipients !== null) {
    // The mirror's own fields must describe the entries it carries.
    if (recipients.map(wrapAlgName).join(',') !== kinds.join(',')) throw new BadHeaderError('The metadata mirror "wrap-alg" does not match its recipient entries.')
    const ids = recipients.map(stanzaKeyId).filter((id): id is string => id !== null)
    if (desc.kidPartial || ids.join(',') !== desc.kid.join(',')) throw new BadHeaderError('The metadata mirror "kid" does not match its recipient entries.')
  } else if (desc.kid.length > kinds.filter((k) => KEYED_NAMES.has(k)).length) {
    throw new BadHeaderError('The metadata mirror lists more key ids than it has recipients with one.')
  }
  const lengthText = get(N.length)
  if ((lengthText === undefined) !== (fixed.plaintextLength === null) || (lengthText !== undefined && decimal(lengthText, 'unencrypted-content-length') !== fixed.plaintextLength)) {
    throw new BadHeaderError('The metadata mirror "unencrypted-content-length" does not match the plaintext length in "start".')
  }
  const partText = get(N.partSize)
  const partSize = partText === undefined ? null : decimal(partText, 'part-size')
  if (partSize === 0) throw new BadHeaderError('The metadata mirror "part-size" is 0.')
  const dataText = get(N.dataSize)
  if (dataText !== undefined && (partSize === null || decimal(dataText, 'data-size') !== fixed.plaintextLength)) {
    throw new BadHeaderError('The metadata mirror "data-size" comes without "part-size" or differs from the plaintext length.')
  }
  // The recipients the mirror carries, bound to its preamble and commitment; `length` is the body
  // header's, where the chunks start.
  const header: Header | null =
    recipients === null
      ? null
      : { ...fixed, length: desc.hdr, commitment: start.slice(PREAMBLE_LENGTH), sealedMetadata: new Uint8Array(0), recipients }
  return {
    header,
    headerLength: desc.hdr,
    chunkSize: fixed.chunkSize,
    plaintextLength: fixed.plaintextLength,
    keyIds: recipients === null ? desc.kid : recipients.map(stanzaKeyId).filter((id): id is string => id !== null),
    hasRecipients: recipients !== null,
    partSize,
  }
}

const KEYED_NAMES: ReadonlySet<string> = new Set(['RSA-OAEP-256', 'A256KW', 'kms+context'])

function wrapAlgName(s: Stanza): string {
  return WRAP_ALG_NAMES[s.type] ?? `type-${s.type}`
}

/** `wrap-alg`: 1 to 1,024 kinds, each a known name or `type-N` for a type without one. */
function parseWrapAlg(value: string | undefined): string[] {
  if (value === undefined) throw new BadHeaderError('The metadata mirror lacks its "wrap-alg" field.')
  const kinds = value.split(',')
  const known = new Set(Object.values(WRAP_ALG_NAMES))
  for (const k of kinds) {
    const m = /^type-(0|[1-9][0-9]{0,2})$/.exec(k)
    const type = m?.[1] === undefined ? null : Number(m[1])
    if (!known.has(k) && (type === null || type > 255 || WRAP_ALG_NAMES[type] !== undefined)) {
      throw new BadHeaderError(`The metadata mirror "wrap-alg" has an unknown kind "${k}".`)
    }
  }
  if (kinds.length > MAX_RECIPIENTS) throw new BadHeaderError('The metadata mirror "wrap-alg" lists too many recipients.')
  return kinds
}

interface Matdesc {
  readonly hdr: number
  readonly recipients: 'meta' | 'body'
  readonly kid: string[]
  readonly kidPartial: boolean
}

/** `matdesc`: strict JSON, `v` 1, `hdr` a possible header length, `recipients`, `kid`, `kidPartial`. */
function parseMatdesc(value: string | undefined): Matdesc {
  if (value === undefined) throw new BadHeaderError('The metadata mirror lacks its "matdesc" field.')
  let desc: JsonValue
  try {
    desc = parseStrictJson(value)
  } catch {
    throw new BadHeaderError('The metadata mirror "matdesc" field is not strict JSON.')
  }
  if (desc.kind !== 'object') throw new BadHeaderError('The metadata mirror "matdesc" field is not a JSON object.')
  const m = desc.members
  const vField = m.get('v')
  const v = vField === undefined ? null : jsonSafeInteger(vField)
  if (v === null) throw new BadHeaderError('The metadata mirror "matdesc" lacks its version "v".')
  if (v !== 1) throw new UnsupportedVersionError(`The metadata mirror is of version ${v}; this library reads version 1.`)
  const hdrField = m.get('hdr')
  const hdr = hdrField === undefined ? null : jsonSafeInteger(hdrField)
  if (hdr === null || hdr < MIN_HEADER_LENGTH || hdr > MAX_HEADER_LENGTH) throw new BadHeaderError('The metadata mirror gives an impossible header length.')
  const r = m.get('recipients')
  if (r?.kind !== 'string' || (r.value !== 'meta' && r.value !== 'body')) throw new BadHeaderError('The metadata mirror "matdesc" says neither "meta" nor "body" for its recipients.')
  const kidField = m.get('kid')
  if (kidField?.kind !== 'array') throw new BadHeaderError('The metadata mirror "matdesc" lacks its "kid" list.')
  const kid = kidField.items.map((k) => {
    if (k.kind !== 'string' || !/^[0-9a-f]{32}$/.test(k.value)) throw new BadHeaderError('The metadata mirror "kid" holds something that is not a key id.')
    return k.value
  })
  const partial = m.get('kidPartial')
  if (partial !== undefined && !(partial.kind === 'literal' && partial.value === true)) throw new BadHeaderError('The metadata mirror "kidPartial" is not true.')
  return { hdr, recipients: r.value, kid, kidPartial: partial !== undefined }
}

function decimal(value: string, field: string): number {
  const n = Number(value)
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(n)) throw new BadHeaderError(`The metadata mirror "${field}" is not a decimal integer.`)
  return n
}

function decode(value: string | undefined, field: string): Uint8Array {
  if (value === undefined) throw new BadHeaderError(`The metadata mirror lacks its "${field}" field.`)
  try {
    return fromBase64(value, field)
  } catch {
    throw new BadHeaderError(`The metadata mirror "${field}" field is not valid base64.`)
  }
}
