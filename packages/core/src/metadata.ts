/**
 * Private object metadata: the real file name, media type, modification time and small app fields,
 * sealed inside the object so the store sees only opaque keys and ciphertext.
 */
import { fromUtf8, utf8 } from './bytes.js'
import { BadHeaderError, InvalidArgumentError } from './errors.js'
import { type JsonValue, jsonSafeInteger, parseStrictJson } from './json.js'

/** Metadata sealed inside an object. All fields optional. */
export interface ObjectMetadata {
  /** Original file name. */
  readonly name?: string
  /** Media type, e.g. `application/pdf`. */
  readonly type?: string
  /** Last modification time, milliseconds since the Unix epoch. */
  readonly lastModified?: number
  /** Small string fields of the app's own. */
  readonly fields?: Readonly<Record<string, string>>
}

/** Encoded metadata may not exceed 64 KiB (it sits in the header, which readers fetch first). */
export const MAX_METADATA_LENGTH = 1 << 16

/** Encodes metadata as UTF-8 JSON with a fixed key order (FORMAT.md, "Private metadata"). */
export function encodeMetadata(metadata: ObjectMetadata): Uint8Array {
  if (typeof metadata !== 'object' || metadata === null) throw new InvalidArgumentError('metadata must be an object.')
  const out: Record<string, unknown> = {}
  if (metadata.name !== undefined) out.name = str(metadata.name, 'metadata.name')
  if (metadata.type !== undefined) out.type = str(metadata.type, 'metadata.type')
  if (metadata.lastModified !== undefined) {
    if (!Number.isSafeInteger(metadata.lastModified)) throw new InvalidArgumentError('metadata.lastModified must be an integer (ms since epoch).')
    out.lastModified = metadata.lastModified
  }
  if (metadata.fields !== undefined) {
    const fields: Record<string, string> = {}
    for (const [k, v] of Object.entries(metadata.fields)) fields[k] = str(v, `metadata.fields.${k}`)
    out.fields = fields
  }
  const bytes = utf8(JSON.stringify(out))
  if (bytes.length > MAX_METADATA_LENGTH) {
    throw new InvalidArgumentError(`metadata encodes to ${bytes.length} bytes; the limit is ${MAX_METADATA_LENGTH}.`)
  }
  return bytes
}

function str(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string.`)
  return value
}

/**
 * Decodes metadata that authenticated under the object's key. Authentic is not well-formed: a writer
 * holding the key can seal anything, and two readers must agree on what it means, so the rules of
 * FORMAT.md §6 are enforced and anything else is refused rather than dropped.
 *
 * @throws {BadHeaderError} not UTF-8, a byte order mark, not strict JSON (duplicate names, lone
 *   surrogates), not an object, or a known member of the wrong type (`lastModified` must be written
 *   as an integer within ±(2^53−1); `fields` must hold strings only).
 */
export function decodeMetadata(bytes: Uint8Array): ObjectMetadata {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new BadHeaderError('The private metadata starts with a UTF-8 byte order mark, which JSON in this format never has.')
  }
  let parsed: JsonValue
  try {
    parsed = parseStrictJson(fromUtf8(bytes))
  } catch {
    throw new BadHeaderError('The private metadata is not valid UTF-8 strict JSON.')
  }
  if (parsed.kind !== 'object') throw new BadHeaderError('The private metadata is not a JSON object.')
  const m: { name?: string; type?: string; lastModified?: number; fields?: Record<string, string> } = {}
  const bad = (member: string, want: string): never => {
    throw new BadHeaderError(`The private metadata member "${member}" is not ${want}.`)
  }
  const name = parsed.members.get('name')
  const type = parsed.members.get('type')
  const lastModified = parsed.members.get('lastModified')
  const fields = parsed.members.get('fields')
  if (name !== undefined) m.name = name.kind === 'string' ? name.value : bad('name', 'a string')
  if (type !== undefined) m.type = type.kind === 'string' ? type.value : bad('type', 'a string')
  if (lastModified !== undefined) m.lastModified = jsonSafeInteger(lastModified) ?? bad('lastModified', 'an integer within ±(2^53−1)')
  if (fields !== undefined) {
    if (fields.kind !== 'object') return bad('fields', 'an object')
    const f: Record<string, string> = {}
    for (const [k, v] of fields.members) {
      const value = v.kind === 'string' ? v.value : bad(`fields.${k}`, 'a string')
      // defineProperty, not assignment: a field named "__proto__" must stay a field.
      Object.defineProperty(f, k, { value, enumerable: true, writable: true, configurable: true })
    }
    m.fields = f
  }
  return m
}
