/**
 * Checks for every value that comes from a caller and ends up in a signed S3 request: object keys,
 * upload ids, part numbers, metadata, content types and ranges. Each returns the value (normalized
 * where said) or throws an {@link InvalidInputError} whose `code` names the field.
 */
import { InvalidInputError } from './errors.js'

/** S3's longest object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024
/** S3's highest part number (and most parts in one upload). */
export const MAX_PART_NUMBER = 10_000
/** S3's limit on user metadata: names (without `x-amz-meta-`) plus values, in bytes. */
export const MAX_METADATA_BYTES = 2048

/** One uploaded part, as CompleteMultipartUpload wants it. */
export interface CompletedPart {
  readonly partNumber: number
  readonly etag: string
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
const encoder = new TextEncoder()

/**
 * An object key: non-empty, at most 1024 bytes of UTF-8, not starting with `/`, and without control
 * characters or `.`/`..` segments.
 *
 * @throws {InvalidInputError} with code `INVALID_KEY`.
 * @example
 * checkKey('users/42/video.mp4') // 'users/42/video.mp4'
 */
export function checkKey(value: unknown): string {
  const fail = (why: string): never => {
    throw new InvalidInputError(`key ${why}.`, 'INVALID_KEY')
  }
  if (typeof value !== 'string') return fail('must be a string')
  if (value.length === 0) return fail('must not be empty')
  if (LONE_SURROGATE.test(value)) return fail('contains a lone UTF-16 surrogate, which has no UTF-8 form')
  if (encoder.encode(value).length > MAX_KEY_BYTES) return fail(`must be at most ${MAX_KEY_BYTES} bytes of UTF-8`)
  if (value.startsWith('/')) return fail('must not start with "/"')
  // Control characters cannot appear in S3's XML listings; refuse them rather than store the unlistable.
  if (/[\x00-\x1f\x7f]/.test(value)) return fail('must not contain control characters')
  // URL parsers resolve "." and ".." segments (even as %2E), so such a key would be signed for one
  // object and reach another: the authorization hook would have judged the wrong key.
  if (value.split('/').some((segment) => segment === '.' || segment === '..')) return fail('must not contain "." or ".." path segments')
  return value
}

/**
 * A multipart upload id as the store issued it: printable ASCII without spaces, at most 1024 long.
 *
 * @throws {InvalidInputError} with code `INVALID_UPLOAD_ID`.
 * @example
 * checkUploadId('2~x7Kp…') // returned as is
 */
export function checkUploadId(value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,1024}$/.test(value)) {
    throw new InvalidInputError('uploadId must be the non-empty upload id that createMultipart returned.', 'INVALID_UPLOAD_ID')
  }
  return value
}

/**
 * A part number: an integer from 1 to 10000.
 *
 * @throws {InvalidInputError} with code `INVALID_PART_NUMBER`.
 * @example
 * checkPartNumber(3) // 3
 */
export function checkPartNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PART_NUMBER) {
    throw new InvalidInputError(`Part numbers must be integers from 1 to ${MAX_PART_NUMBER}, got ${JSON.stringify(value) ?? String(value)}.`, 'INVALID_PART_NUMBER')
  }
  return value
}

/**
 * A list of distinct part numbers, at least one and at most `max`.
 *
 * @throws {InvalidInputError} with code `INVALID_PART_NUMBER`.
 * @example
 * checkPartNumbers([1, 2, 3], 100) // [1, 2, 3]
 */
export function checkPartNumbers(value: unknown, max: number): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new InvalidInputError(`partNumbers must be an array of 1 to ${max} part numbers; ask for more in further requests.`, 'INVALID_PART_NUMBER')
  }
  const numbers = value.map(checkPartNumber)
  if (new Set(numbers).size !== numbers.length) throw new InvalidInputError('partNumbers must not repeat a part number.', 'INVALID_PART_NUMBER')
  return numbers
}

/**
 * The parts of a multipart upload to complete: `{ partNumber, etag }` objects with distinct part
 * numbers, returned sorted by part number (S3 wants them ascending).
 *
 * @throws {InvalidInputError} with code `INVALID_PARTS`, or `INVALID_PART_NUMBER` for a bad number.
 * @example
 * checkCompletedParts([{ partNumber: 2, etag: '"b"' }, { partNumber: 1, etag: '"a"' }]) // sorted 1, 2
 */
export function checkCompletedParts(value: unknown): CompletedPart[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PART_NUMBER) {
    throw new InvalidInputError(`parts must be an array of 1 to ${MAX_PART_NUMBER} { partNumber, etag } objects.`, 'INVALID_PARTS')
  }
  const parts = value.map((part: unknown): CompletedPart => {
    if (typeof part !== 'object' || part === null || !('partNumber' in part) || !('etag' in part)) {
      throw new InvalidInputError('Each part must be an object { partNumber, etag }.', 'INVALID_PARTS')
    }
    const etag = part.etag
    if (typeof etag !== 'string' || !/^[\x20-\x7e]{1,1024}$/.test(etag)) {
      throw new InvalidInputError('Each part needs the non-empty ETag that its PUT returned.', 'INVALID_PARTS')
    }
    return { partNumber: checkPartNumber(part.partNumber), etag }
  })
  parts.sort((a, b) => a.partNumber - b.partNumber)
  if (parts.some((part, i) => i > 0 && parts[i - 1]?.partNumber === part.partNumber)) {
    throw new InvalidInputError('parts must not repeat a part number.', 'INVALID_PART_NUMBER')
  }
  return parts
}

/**
 * User metadata: names are HTTP tokens, given with or without `x-amz-meta-` and returned lowercase
 * without it; values are printable ASCII without leading or trailing spaces (stores trim them, and
 * non-ASCII does not survive every store: base64 it). Names and values together at most 2 KB.
 *
 * @throws {InvalidInputError} with code `INVALID_METADATA`.
 * @example
 * checkMetadata({ 'X-Amz-Meta-Owner': 'ada' }) // { owner: 'ada' }
 */
export function checkMetadata(value: unknown): Record<string, string> {
  const fail = (why: string): never => {
    throw new InvalidInputError(`metadata ${why}.`, 'INVALID_METADATA')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be an object of string values')
  const out: Record<string, string> = {}
  let bytes = 0
  for (const [rawName, rawValue] of Object.entries(value)) {
    const name = rawName.toLowerCase().replace(/^x-amz-meta-/, '')
    if (!TOKEN.test(name)) return fail(`name ${JSON.stringify(rawName)} is not a valid header name`)
    if (Object.hasOwn(out, name)) return fail(`name ${JSON.stringify(name)} is given twice`)
    if (typeof rawValue !== 'string' || !/^[\x20-\x7e]*$/.test(rawValue)) return fail(`value of ${JSON.stringify(name)} must be a string of printable ASCII`)
    if (rawValue !== rawValue.trim()) return fail(`value of ${JSON.stringify(name)} must not start or end with a space`)
    out[name] = rawValue
    bytes += name.length + rawValue.length
  }
  if (bytes > MAX_METADATA_BYTES) return fail(`takes ${bytes} bytes (names and values); S3 allows ${MAX_METADATA_BYTES}`)
  return out
}

/**
 * A content type (or another header value of that shape, named `name` in the message): printable
 * ASCII, 1 to 255 characters, not starting or ending with a space.
 *
 * @throws {InvalidInputError} with code `INVALID_CONTENT_TYPE`.
 * @example
 * checkContentType('application/octet-stream')
 */
export function checkContentType(value: unknown, name = 'contentType'): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(value) || value !== value.trimEnd()) {
    throw new InvalidInputError(`${name} must be printable ASCII of at most 255 characters, such as "application/octet-stream".`, 'INVALID_CONTENT_TYPE')
  }
  return value
}

/**
 * One HTTP byte range: `bytes=first-last`, `bytes=first-` or `bytes=-suffixLength`.
 *
 * @throws {InvalidInputError} with code `INVALID_RANGE`.
 * @example
 * checkRange('bytes=0-99') // 'bytes=0-99'
 */
export function checkRange(value: unknown): string {
  const m = typeof value === 'string' ? /^bytes=(?:(\d{1,15})-(\d{0,15})|-(\d{1,15}))$/.exec(value) : null
  const ok =
    m !== null &&
    (m[3] !== undefined ? Number(m[3]) > 0 : m[2] === undefined || m[2] === '' || Number(m[1]) <= Number(m[2]))
  if (!ok || typeof value !== 'string') {
    throw new InvalidInputError('range must be one byte range: "bytes=first-last", "bytes=first-" or "bytes=-length".', 'INVALID_RANGE')
  }
  return value
}

/** An ETag as the store gave it (quoted), for a precondition header: printable ASCII. */
export function checkEtag(value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(value)) throw new InvalidInputError('etag must be the ETag the store gave (printable ASCII).')
  return value
}
