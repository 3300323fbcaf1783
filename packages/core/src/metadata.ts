/**
 * Private object metadata: the real file name, media type, modification time and small app fields,
 * sealed inside the object so the store sees only opaque keys and ciphertext.
 */
import { fromUtf8, utf8 } from './bytes.js'
import { BadHeaderError, InvalidArgumentError } from './errors.js'

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

/** Decodes metadata that authenticated under the object's key; still checked, never trusted blindly. */
export function decodeMetadata(bytes: Uint8Array): ObjectMetadata {
  let parsed: unknown
  try {
    parsed = JSON.parse(fromUtf8(bytes))
  } catch {
    throw new BadHeaderError('The private metadata is not valid UTF-8 JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadHeaderError('The private metadata is not a JSON object.')
  }
  const m: { name?: string; type?: string; lastModified?: number; fields?: Record<string, string> } = {}
  const rec = new Map(Object.entries(parsed))
  const name = rec.get('name')
  const type = rec.get('type')
  const lastModified = rec.get('lastModified')
  const fields = rec.get('fields')
  if (typeof name === 'string') m.name = name
  if (typeof type === 'string') m.type = type
  if (typeof lastModified === 'number' && Number.isSafeInteger(lastModified)) m.lastModified = lastModified
  if (typeof fields === 'object' && fields !== null && !Array.isArray(fields)) {
    const f: Record<string, string> = {}
    for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') f[k] = v
    m.fields = f
  }
  return m
}
