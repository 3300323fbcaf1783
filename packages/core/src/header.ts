/**
 * The object header: its byte layout, encoder and parser. Pure functions, no crypto.
 * The layout is specified in docs/FORMAT.md; keep the two in step.
 */
import { abytes, concat } from './bytes.js'
import { BadHeaderError, TamperedError, TruncatedError, UnsupportedVersionError } from './errors.js'

/** "BKSL": the first four bytes of every Bucketseal object. */
export const MAGIC = new Uint8Array([0x42, 0x4b, 0x53, 0x4c])
export const VERSION = 1
/** Suite 1: AES-256-GCM chunks, HKDF-SHA-256 derivation with key commitment, STREAM nonces. */
export const SUITE = 1

/** Length of the fixed, authenticated part of the header (bound into the key derivation). */
export const PREAMBLE_LENGTH = 60
/** Bytes needed to learn a header's total length: preamble, commitment, header length. */
export const HEADER_PREFIX_LENGTH = 96
const FIXED_LENGTH = 100 // preamble + commitment + header length + metadata length
/** The shortest header: the fixed fields, no metadata, a count and one entry with an empty body. */
export const MIN_HEADER_LENGTH = FIXED_LENGTH + 2 + 3
/**
 * Flags (header bytes 6 and 7, a uint16 that was "reserved, zero" before it): bit 0 says the header
 * carries sealed metadata. The preamble is bound into the key derivation, so the flag cannot be
 * cleared without changing the content key, and sealed metadata cannot be stripped (metadataLength
 * set to 0) without the reader noticing. Headers written before the flag have 0 here; a reader keeps
 * reading them (their metadata, if any, is simply not protected against stripping).
 */
export const FLAG_SEALED_METADATA = 0x0001
const KNOWN_FLAGS = FLAG_SEALED_METADATA
/** Shortest sealed metadata: `{}` (2 bytes) and its tag. */
export const MIN_SEALED_METADATA_LENGTH = 2 + 16

export const SALT_LENGTH = 32
export const NONCE_PREFIX_LENGTH = 7
export const COMMITMENT_LENGTH = 32
export const TAG_LENGTH = 16
export const MIN_CHUNK_SIZE = 1 << 10
export const MAX_CHUNK_SIZE = 1 << 24
/** The chunk counter is a uint32, so an object holds at most 2^32 chunks. */
export const MAX_CHUNKS = 2 ** 32
/** Headers beyond this are refused: it bounds what a reader fetches and parses before any check. */
export const MAX_HEADER_LENGTH = 1 << 20
/** Sealed private metadata (JSON plus tag) is at most this long. */
export const MAX_SEALED_METADATA_LENGTH = (1 << 16) + TAG_LENGTH
export const MAX_RECIPIENTS = 1024
const UNKNOWN_LENGTH = 0xffff_ffff_ffff_ffffn

/** One recipient entry: a type byte and an opaque body that the recipient kind interprets. */
export interface Stanza {
  readonly type: number
  readonly body: Uint8Array
}

/** Every field of a header, as written by the encryptor. */
export interface HeaderFields {
  /** Header flags ({@link FLAG_SEALED_METADATA}); 0 in headers written before flags existed. */
  readonly flags: number
  readonly chunkSize: number
  /** Plaintext length in bytes, or `null` when the writer did not know it (streaming). */
  readonly plaintextLength: number | null
  readonly salt: Uint8Array
  readonly noncePrefix: Uint8Array
  readonly commitment: Uint8Array
  /** Private metadata sealed under the content key; empty when the object has none. */
  readonly sealedMetadata: Uint8Array
  readonly recipients: readonly Stanza[]
}

/** A parsed header. `preamble` is the byte range bound into the key derivation. */
export interface Header extends HeaderFields {
  readonly version: number
  readonly suite: number
  /** Total header length: the first chunk starts at this offset of the object. */
  readonly length: number
  readonly preamble: Uint8Array
}

/** The preamble bytes for the given fixed fields. Both encoder and key derivation use this. */
export function encodePreamble(fields: Pick<HeaderFields, 'flags' | 'chunkSize' | 'plaintextLength' | 'salt' | 'noncePrefix'>): Uint8Array {
  const out = new Uint8Array(PREAMBLE_LENGTH)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  out[4] = VERSION
  out[5] = SUITE
  view.setUint16(6, fields.flags)
  view.setUint32(8, fields.chunkSize)
  view.setBigUint64(12, fields.plaintextLength === null ? UNKNOWN_LENGTH : BigInt(fields.plaintextLength))
  out.set(fields.salt, 20)
  out.set(fields.noncePrefix, 52)
  return out
}

/** Serializes a header. The caller has validated the fields (they come from our own encryptor). */
export function encodeHeader(fields: HeaderFields): Uint8Array {
  const recipients = encodeStanzas(fields.recipients)
  const lengths = new Uint8Array(8)
  new DataView(lengths.buffer).setUint32(0, FIXED_LENGTH + fields.sealedMetadata.length + recipients.length)
  new DataView(lengths.buffer).setUint32(4, fields.sealedMetadata.length)
  return concat([encodePreamble(fields), fields.commitment, lengths, fields.sealedMetadata, recipients])
}

/** The recipients block: `count (2) ‖ (type (1) ‖ bodyLength (2) ‖ body)*`, as in the header and the mirror. */
export function encodeStanzas(stanzas: readonly Stanza[]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([stanzas.length >> 8, stanzas.length & 255])]
  for (const s of stanzas) parts.push(new Uint8Array([s.type, s.body.length >> 8, s.body.length & 255]), s.body)
  return concat(parts)
}

/**
 * Parses a recipients block that must fill `bytes` exactly.
 * @throws {BadHeaderError} a bad count, an entry cut short, or bytes after the last entry.
 */
export function parseStanzas(bytes: Uint8Array): Stanza[] {
  if (bytes.length < 2) throw new BadHeaderError('The header is too short for its metadata.')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  const count = view.getUint16(0)
  if (count === 0 || count > MAX_RECIPIENTS) {
    throw new BadHeaderError(`The recipient count (${count}) is out of range.`)
  }
  const recipients: Stanza[] = []
  let offset = 2
  for (let i = 0; i < count; i++) {
    if (offset + 3 > bytes.length) throw new BadHeaderError('The header ends inside a recipient entry.')
    const type = view.getUint8(offset)
    const bodyLength = view.getUint16(offset + 1)
    offset += 3
    if (offset + bodyLength > bytes.length) throw new BadHeaderError('The header ends inside a recipient entry.')
    recipients.push({ type, body: bytes.slice(offset, offset + bodyLength) })
    offset += bodyLength
  }
  if (offset !== bytes.length) throw new BadHeaderError('The header has bytes after its last recipient entry.')
  return recipients
}

/** The fixed fields of a header, parsed from its preamble (the first {@link PREAMBLE_LENGTH} bytes). */
export type Preamble = Pick<Header, 'version' | 'suite' | 'flags' | 'preamble' | 'chunkSize' | 'plaintextLength' | 'salt' | 'noncePrefix'>

/**
 * Parses and checks the preamble at the start of `bytes`.
 * @throws {BadHeaderError} | {UnsupportedVersionError} | {TruncatedError} (fewer than 60 bytes)
 */
export function parsePreamble(bytes: Uint8Array): Preamble {
  abytes(bytes, 'bytes')
  checkMagic(bytes)
  if (bytes.length < PREAMBLE_LENGTH) throw new TruncatedError(`The object ends inside its header (${bytes.length} bytes).`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_LENGTH)
  const flags = view.getUint16(6)
  if ((flags & ~KNOWN_FLAGS) !== 0 || view.getUint8(59) !== 0) {
    throw new BadHeaderError('Unknown header flags, or reserved header bytes that are not zero.')
  }
  const chunkSize = view.getUint32(8)
  if (!isValidChunkSize(chunkSize)) {
    throw new BadHeaderError(`The chunk size (${chunkSize}) is not a power of two from 1 KiB to 16 MiB.`)
  }
  const rawLength = view.getBigUint64(12)
  let plaintextLength: number | null = null
  if (rawLength !== UNKNOWN_LENGTH) {
    if (rawLength > BigInt(Number.MAX_SAFE_INTEGER) || rawLength > BigInt(MAX_CHUNKS) * BigInt(chunkSize)) {
      throw new BadHeaderError('The plaintext length field is out of range.')
    }
    plaintextLength = Number(rawLength)
  }
  return {
    version: VERSION,
    suite: SUITE,
    flags,
    preamble: bytes.slice(0, PREAMBLE_LENGTH),
    chunkSize,
    plaintextLength,
    salt: bytes.slice(20, 52),
    noncePrefix: bytes.slice(52, 59),
  }
}

/**
 * Reads the total header length from the first {@link HEADER_PREFIX_LENGTH} bytes of an object,
 * so a reader can fetch exactly the header before parsing it.
 *
 * @throws {BadHeaderError} not a Bucketseal object, or an impossible length.
 * @throws {UnsupportedVersionError} an unknown version or suite.
 * @throws {TruncatedError} fewer than {@link HEADER_PREFIX_LENGTH} bytes given.
 */
export function readHeaderLength(bytes: Uint8Array): number {
  abytes(bytes, 'bytes')
  checkMagic(bytes)
  if (bytes.length < HEADER_PREFIX_LENGTH) {
    throw new TruncatedError(`The object ends inside its header (${bytes.length} bytes).`)
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(92)
  if (length < MIN_HEADER_LENGTH || length > MAX_HEADER_LENGTH) {
    throw new BadHeaderError(`The header length field (${length}) is out of range.`)
  }
  return length
}

/**
 * Parses the header at the start of `bytes` (which may continue with chunks). Checks structure
 * only: authenticity is established later by the key commitment and the chunk tags.
 *
 * @throws {BadHeaderError} | {UnsupportedVersionError} | {TruncatedError}
 */
export function parseHeader(bytes: Uint8Array): Header {
  // The order of the checks is FORMAT.md §2's ("Reading a header"): the first that fails decides
  // the error, so two readers agree on every malformed input, cut short or not.
  abytes(bytes, 'bytes')
  checkMagic(bytes)
  if (bytes.length < HEADER_PREFIX_LENGTH) {
    throw new TruncatedError(`The object ends inside its header (${bytes.length} bytes).`)
  }
  const fixed = parsePreamble(bytes)
  const length = readHeaderLength(bytes)
  if (bytes.length < length) {
    throw new TruncatedError(`The object ends inside its header (${bytes.length} of ${length} bytes).`)
  }
  const metadataLength = new DataView(bytes.buffer, bytes.byteOffset, length).getUint32(96)
  if (metadataLength !== 0 && (metadataLength < MIN_SEALED_METADATA_LENGTH || metadataLength > MAX_SEALED_METADATA_LENGTH)) {
    throw new BadHeaderError(`The sealed metadata length (${metadataLength}) is out of range.`)
  }
  if (FIXED_LENGTH + metadataLength + 2 > length) throw new BadHeaderError('The header is too short for its metadata.')
  const recipients = parseStanzas(bytes.subarray(FIXED_LENGTH + metadataLength, length))
  if ((fixed.flags & FLAG_SEALED_METADATA) !== 0 && metadataLength === 0) {
    // The flag is bound into the content key; only a header edited after writing has it without
    // the metadata it announces.
    throw new TamperedError('The header says it carries sealed metadata (the file name and type), but it has none: it was removed.')
  }
  return {
    ...fixed,
    length,
    commitment: bytes.slice(60, 92),
    sealedMetadata: bytes.slice(FIXED_LENGTH, FIXED_LENGTH + metadataLength),
    recipients,
  }
}

function checkMagic(bytes: Uint8Array): void {
  for (let i = 0; i < Math.min(bytes.length, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) throw new BadHeaderError('This is not a Bucketseal object (bad magic bytes).')
  }
  if (bytes.length < 6) {
    throw new TruncatedError(`The object ends inside its header (${bytes.length} bytes).`)
  }
  if (bytes[4] !== VERSION) {
    throw new UnsupportedVersionError(`Bucketseal format version ${bytes[4]} is not supported by this library (it reads version ${VERSION}).`)
  }
  if (bytes[5] !== SUITE) {
    throw new UnsupportedVersionError(`Cipher suite ${bytes[5]} is not supported by this library (it reads suite ${SUITE}).`)
  }
}

export function isValidChunkSize(size: number): boolean {
  return Number.isInteger(size) && size >= MIN_CHUNK_SIZE && size <= MAX_CHUNK_SIZE && (size & (size - 1)) === 0
}
