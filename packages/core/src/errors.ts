/**
 * The one error hierarchy of Bucketseal. Every failure a caller can act on is a
 * {@link BucketsealError} with a stable {@link ErrorCode}; messages say what happened and what to do,
 * and never contain key material or plaintext.
 */

/** Stable machine-readable error codes. New codes may be added; existing ones never change meaning. */
export type ErrorCode =
  /** An argument has the wrong type, size or range. Fix the call. */
  | 'INVALID_ARGUMENT'
  /** The bytes are not a well-formed Bucketseal header (not our object, or damaged before the chunks). */
  | 'BAD_HEADER'
  /** A Bucketseal object of a format version or suite this library does not know. */
  | 'UNSUPPORTED_VERSION'
  /** None of the given keys is a recipient of the object. */
  | 'WRONG_KEY'
  /** A recipient unwrapped to a data key that the header's key commitment does not match. */
  | 'COMMITMENT_MISMATCH'
  /** The ciphertext was modified: a chunk failed authentication, or data was added. */
  | 'TAMPERED'
  /** The ciphertext ends early: its final chunk is missing. */
  | 'TRUNCATED'

/**
 * Base class of every error Bucketseal throws on purpose. Generic over its code union so the other
 * packages (keys, upload) extend it with codes of their own; `isBucketsealError` recognises core's.
 */
export class BucketsealError<C extends string = ErrorCode> extends Error {
  readonly code: C

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'BucketsealError'
  }
}

/** A public function was called with an argument of the wrong type, length or range. */
export class InvalidArgumentError extends BucketsealError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message)
    this.name = 'InvalidArgumentError'
  }
}

/** Decryption failed. Subclasses tell why; no plaintext of the failing chunk was released. */
export class DecryptionError extends BucketsealError {
  constructor(code: Exclude<ErrorCode, 'INVALID_ARGUMENT'>, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'DecryptionError'
  }
}

/** The bytes do not parse as a Bucketseal header. */
export class BadHeaderError extends DecryptionError {
  constructor(message: string) {
    super('BAD_HEADER', message)
    this.name = 'BadHeaderError'
  }
}

/** The header names a format version or cipher suite this library does not implement. */
export class UnsupportedVersionError extends DecryptionError {
  constructor(message: string) {
    super('UNSUPPORTED_VERSION', message)
    this.name = 'UnsupportedVersionError'
  }
}

/**
 * None of the keys given can open the object. `keyIds` lists the key ids (hex) of the object's
 * recipients that have one, so an app can tell the user which key is needed.
 */
export class WrongKeyError extends DecryptionError {
  readonly keyIds: readonly string[]

  constructor(keyIds: readonly string[], detail?: string) {
    const needed = keyIds.length > 0 ? ` It was encrypted for key id(s) ${keyIds.join(', ')}.` : ''
    super('WRONG_KEY', `None of the given keys can decrypt this object.${needed}${detail ? ` ${detail}` : ''}`)
    this.name = 'WrongKeyError'
    this.keyIds = keyIds
  }
}

/** A recipient opened to a data key that does not match the header's key commitment. */
export class CommitmentMismatchError extends DecryptionError {
  constructor() {
    super(
      'COMMITMENT_MISMATCH',
      'The data key unwrapped for this object does not match its key commitment: a recipient entry was replaced or the header was altered. Nothing was decrypted.',
    )
    this.name = 'CommitmentMismatchError'
  }
}

/** A chunk failed authentication, or the ciphertext has bytes it should not have. */
export class TamperedError extends DecryptionError {
  /** Index of the chunk that failed, when the failure is tied to one chunk. */
  readonly chunkIndex: number | undefined

  constructor(message: string, chunkIndex?: number) {
    super('TAMPERED', message)
    this.name = 'TamperedError'
    this.chunkIndex = chunkIndex
  }
}

/** The ciphertext ends before its final chunk. */
export class TruncatedError extends DecryptionError {
  constructor(message: string) {
    super('TRUNCATED', message)
    this.name = 'TruncatedError'
  }
}

/** True when `value` is a {@link BucketsealError}, optionally with the given code. Works across realms. */
export function isBucketsealError(value: unknown, code?: ErrorCode): value is BucketsealError<ErrorCode> {
  if (value instanceof BucketsealError) return ERROR_CODES.has(value.code) && (code === undefined || value.code === code)
  // An error rebuilt on the far side of a Worker or iframe boundary is not an instance of this
  // realm's class; recognise it by shape so callers can branch on `code` everywhere.
  if (typeof value !== 'object' || value === null || !('code' in value)) return false
  const c = value.code
  return typeof c === 'string' && ERROR_CODES.has(c) && (code === undefined || c === code)
}

const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'INVALID_ARGUMENT',
  'BAD_HEADER',
  'UNSUPPORTED_VERSION',
  'WRONG_KEY',
  'COMMITMENT_MISMATCH',
  'TAMPERED',
  'TRUNCATED',
])
